"""``prune.evaluate``: one pruned-but-undistilled row per target (the teacher pruned one-shot to it, evaluated
with no distillation). It reuses the one-shot chain's prune node, leaves every other key alone, and its rows
(method ``pruned``) are listed with the results but never fitted, compared or reported as students."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.config import ConfigError
from taskdistill.scaling.table import PRUNED_METHOD, ResultsError, fit_rows, read_results, validate
from taskdistill.sweep import spec as spec_mod
from taskdistill.sweep.dag import expand, pruned_settings, unique_nodes
from taskdistill.sweep.plan import plan_sweep
from taskdistill.sweep.spec import SweepSpec, load_spec, preset_path
from tests.sweep import fake_stages
from tests.sweep.test_transfer import FIXTURE, _run_tiny, _tiny_raw

STAGES = "tests.sweep.fake_stages:FakeStages"


def _with_switch(raw: dict, on: bool = True) -> SweepSpec:
    return SweepSpec.model_validate({**raw, "prune": {**raw["prune"], "evaluate": on}})


def _oneshot_prune(cells, target):
    """The prune node of a one-shot student cell at ``target`` (its distill node's student input)."""
    student = next(c for c in cells if c.settings["schedule"] == "oneshot" and c.settings["target"] == target
                   and c.settings["method"] != PRUNED_METHOD)
    return student.node.input("model").input("student")


def test_constant_is_shared_by_sweep_and_scaling():
    assert spec_mod.PRUNED_METHOD == PRUNED_METHOD == "pruned"


@pytest.mark.parametrize("preset", ["tiny", "study"])
def test_switch_adds_one_evaluation_per_target_on_the_oneshot_prune_node(preset):
    raw = load_spec(preset_path(preset)).to_json()
    off, on = _with_switch(raw, False), _with_switch(raw, True)
    cells_off, cells_on = expand(off), expand(on)
    targets = on.grid.target
    # every existing cell and node keeps its key; the new cells are exactly one per target
    assert {c.cell_id for c in cells_off} < {c.cell_id for c in cells_on}
    new = [c for c in cells_on if c.cell_id not in {x.cell_id for x in cells_off}]
    assert [c.settings for c in new] == [pruned_settings(t) for t in targets]
    assert len(cells_on) == on.n_cells() == off.n_cells() + len(targets)
    nodes_off, nodes_on = unique_nodes(cells_off), unique_nodes(cells_on)
    added = [nodes_on[k] for k in set(nodes_on) - set(nodes_off)]
    assert set(nodes_off) <= set(nodes_on) and Counter(n.stage for n in added) == {"evaluate": len(targets)}
    for c in new:  # the evaluated model is the one-shot chain's own prune node of the teacher
        model = c.node.input("model")
        assert model.stage == "prune" and model.input("model").stage == "teacher"
        assert model == _oneshot_prune(cells_on, c.settings["target"])
        assert c.node.params == cells_on[0].node.params  # the same evaluation settings as every model
    p_off, p_on = plan_sweep(off), plan_sweep(on)
    assert p_on.counts == {**p_off.counts, "eval": p_off.counts["eval"] + len(targets)}
    assert p_on.cells == p_off.cells + len(targets) and p_on.seconds["eval"] > p_off.seconds["eval"]
    assert any("no extra pruning" in n for n in p_on.notes)
    assert not any("prune.evaluate" in n for n in p_off.notes)


def test_iterative_only_grid_prunes_the_teacher_as_a_oneshot_chain_would():
    raw = load_spec(preset_path("quickstart")).to_json()  # iterative 79 -> 58 only
    on = _with_switch(raw)
    oneshot = SweepSpec.model_validate({**raw, "grid": {**raw["grid"], "schedule": ["oneshot"]}})
    pruned = {c.settings["target"]: c.node.input("model") for c in expand(on) if c.settings["method"] == "pruned"}
    for t in on.grid.target:
        assert pruned[t] == _oneshot_prune(expand(oneshot), t)
    # the mildest target's is also the iterative chain's first step; 58 % needs one more prune of the teacher
    first = next(c for c in expand(on) if c.settings["schedule"] == "iterative" and c.settings["target"] == 0.79)
    assert pruned[0.79] == first.node.input("model").input("student")
    p_off, p_on = plan_sweep(_with_switch(raw, False)), plan_sweep(on)
    assert p_on.counts["prune"] == p_off.counts["prune"] + 1 and p_on.counts["importance"] == p_off.counts["importance"]
    assert any("1 prune node(s) no student shares" in n for n in p_on.notes)


def test_stored_spec_unchanged_when_off_and_round_trips_when_on():
    raw = load_spec(preset_path("tiny")).to_json()
    assert "evaluate" not in raw["prune"]  # an existing sweep folder's spec.json still matches: it resumes
    on = _with_switch(raw)
    assert on.to_json()["prune"]["evaluate"] is True
    again = SweepSpec.model_validate(on.to_json())
    assert [c.cell_id for c in expand(again)] == [c.cell_id for c in expand(on)]


def test_bad_switch_value_is_one_line_error(tmp_path):
    raw = load_spec(preset_path("tiny")).to_json()
    raw["prune"]["evaluate"] = "sometimes"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as e:
        load_spec(path)
    assert str(path) in str(e.value) and "field 'prune.evaluate'" in str(e.value)
    res = CliRunner().invoke(app, ["sweep", "plan", str(path)])
    assert res.exit_code == 2 and "prune.evaluate" in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_pruned_rows_in_results_and_export_but_not_in_fits(tmp_path):
    from taskdistill.report.build import best_students
    from taskdistill.scaling.compare import compare_all
    from taskdistill.scaling.fit import FitSettings, fit_table
    from taskdistill.sweep.executors import run_sweep
    from taskdistill.sweep.store import export_results, load_results

    raw = {"name": "t", "teacher": {"base": "tiny:llama"}, "distill": {"steps": 2, "warmup_steps": 0},
           "grid": {"dataset_size": [25, 50, 100], "target": [0.79, 0.58, 0.37], "supervision": ["label"],
                    "schedule": ["iterative", "oneshot"]}, "prune": {"evaluate": True}}
    spec = SweepSpec.model_validate(raw)
    counts = run_sweep(spec, tmp_path / "sw", stages=STAGES, quiet=True)
    assert counts["failed"] == 0 and counts["done"] == spec.n_cells() == 1 + 3 + 3 * 3 * 2
    # no pruning beyond the students' own: the pruned rows only add evaluations
    off = SweepSpec.model_validate({**raw, "prune": {}})
    calls = Counter(c["stage"] for c in fake_stages.calls())
    need_off = Counter(n.stage for n in unique_nodes(expand(off)).values())
    assert calls["prune"] == need_off["prune"] and calls["evaluate"] == need_off["evaluate"] + 3

    df = load_results(tmp_path / "sw")
    pruned = df[df.method == "pruned"]
    assert sorted(pruned.target) == [0.37, 0.58, 0.79]
    assert (pruned.supervision == "none").all() and (pruned.schedule == "oneshot").all()
    assert pruned.dataset_size.isna().all() and (pruned.seed == 0).all()
    assert np.allclose(pruned.params_ratio, pruned.target, atol=0.01)
    # the export reads back as a valid results table (no dataset size is right for these rows only)
    out = export_results(tmp_path / "sw", tmp_path / "r.csv")
    table = validate(read_results(out))
    assert (table.method == "pruned").sum() == 3
    assert "pruned" not in set(fit_rows(table).method) and len(fit_rows(table)) == 18
    bad = read_results(out)
    bad.loc[bad.index[bad.method == "logit"][0], "dataset_size"] = np.nan  # a student without a size: refused
    with pytest.raises(ResultsError, match="dataset_size"):
        validate(bad)

    fits = fit_table(table, FitSettings(metrics=("indomain.macro_f1",), n_boot=4, n_starts=2, boot_starts=1,
                                        cv_folds=0, extrapolate=False))
    assert fits.n_fitted_rows == 18 and all(g.key["method"] != "pruned" for g in fits.groups)
    assert all(c["a"] != "none" and c["b"] != "none" for c in compare_all(table, ["indomain.macro_f1"]))
    best = best_students(table)
    assert len(best) == 3 and not best["best student"].str.contains("pruned|none").any()


def test_real_tiny_sweep_gives_pruned_rows_scored_and_reported(tmp_path, monkeypatch):
    """~30 s: tiny teacher, one-shot to 79 %, the pruned model evaluated beside the distilled one."""
    from taskdistill.report import build_report
    from taskdistill.sweep.runner import read_node
    from taskdistill.sweep.store import Store

    raw = _tiny_raw(tmp_path)
    raw["grid"].update(schedule=["oneshot"])
    raw["prune"]["evaluate"] = True
    raw["eval"]["transfer"] = [{"name": "fixture", "split": str(FIXTURE), "task": "finheadlines-coarse"}]
    sw = tmp_path / "sw"
    spec, df = _run_tiny(raw, sw)
    assert sorted(df.method) == ["logit", "pruned", "teacher"]
    p, s = df[df.method == "pruned"].iloc[0], df[df.method == "logit"].iloc[0]
    assert math.isnan(p.dataset_size) and p.supervision == "none" and p.schedule == "oneshot"
    assert p.params_ratio == pytest.approx(s.params_ratio) and p.params_ratio == pytest.approx(0.79, abs=0.05)
    for col in ("indomain.macro_f1", "indomain.nll", "transfer.fixture.macro_f1"):
        assert np.isfinite(p[col]), col
    # the pruned row's record comes from the very checkpoint the student was distilled from
    cell = next(c for c in expand(spec) if c.settings["method"] == "pruned")
    student = next(c for c in expand(spec) if c.settings["method"] == "logit")
    assert read_node(cell.node.input("model"))["path"] == read_node(student.node.input("model").input("student"))["path"]
    prov = next(r["provenance"] for r in Store(sw).results() if r["cell_id"] == cell.cell_id)
    assert "distill" not in {n["stage"] for n in prov["nodes"]}

    table = validate(df)
    assert list(fit_rows(table).method) == ["logit"]
    _, md = build_report(table, None, tmp_path / "report", fit_error="test", task=spec.task_obj)
    text = md.read_text()
    assert "pruned, not distilled" in text  # listed in the transfer table, by name
    assert "pruned/" not in text and "none/none" not in text  # never as a student setting


def test_study_preset_has_the_pruned_rows_and_the_real_headlines():
    spec = load_spec(preset_path("study"))
    assert spec.prune.evaluate and spec.n_cells() == 149
    [ts] = spec.transfer_sets
    assert ts.name == "real-dev" and ts.task == "finheadlines-coarse" and not ts.required
    assert ts.split.endswith("shared/data/real-headlines-dev.csv")
    res = CliRunner().invoke(app, ["sweep", "plan", "study"])
    assert res.exit_code == 0, res.output
    assert "149 result rows" in res.output and "4 pruned-but-undistilled rows" in " ".join(res.output.split())
