"""The report's paper-findings, efficiency and compute blocks: numbers from the table, "not resolved" where
the grid cannot tell, and the compute summary written by ``sweep export`` read back from committed files."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.errors import InputError
from taskdistill.report import build_report
from taskdistill.report.build import efficiency_table, paper_findings
from taskdistill.report.compute import COMPUTE_FILE, read_compute
from taskdistill.scaling.compare import compare
from taskdistill.scaling.simulate import DEFAULT_GROUPS, synthetic_results
from taskdistill.scaling.table import read_results

from ..scaling.synth import quickstart_results, small_fits, small_results

# label/iterative, blended/iterative, blended/oneshot: matched cells for both F3 and F4
GROUPS = DEFAULT_GROUPS[:3]


def _grid(effects, seed):
    return synthetic_results(groups=GROUPS, dataset_sizes=(6_000, 25_000), seeds=(0, 1, 2), effects=effects,
                             seed=seed, failed=0)


def _lines(lines, prefix):
    return [x for x in lines if x.startswith(prefix)]


def test_f3_f4_say_not_resolved_without_an_effect_and_give_the_interval_with_one():
    null = paper_findings(_grid({}, seed=1), None)  # no effect of any setting
    f3, f4 = _lines(null, "F3"), _lines(null, "F4")
    assert len(f3) == 2 and len(f4) == 2  # in-domain macro-F1 and MMLU gold probability each
    assert all("not resolved at this grid" in x and "excludes zero" not in x for x in f3 + f4)

    df = _grid(None, seed=1)  # the built-in effects: blended beats label, iterative beats one-shot in-domain
    lines = paper_findings(df, None)
    f3 = _lines(lines, "F3, supervision format drives the trade-off: in-domain macro-F1, label minus blended")
    c = next(x for x in compare(df, "supervision", "indomain.macro_f1") if x["b"] == "blended")
    lo, hi = c["ci"]
    assert hi < 0 and len(f3) == 1
    assert f"{c['estimate']:+.3f} [{lo:+.3f}, {hi:+.3f}]" in f3[0] and "blended is better" in f3[0]
    f4 = _lines(lines, "F4, iterative vs one-shot pruning: in-domain macro-F1")
    assert len(f4) == 1 and "iterative is better; the interval excludes zero" in f4[0]


def test_f1_f2_from_the_fits_and_not_resolved_on_a_small_grid(monkeypatch):
    fits = small_fits()
    f1, f2, *_ = paper_findings(small_results(), fits)
    g = next(g for g in fits.groups if g.key["supervision"] == "label" and g.key["schedule"] == "iterative")
    ext = g.metrics["indomain.macro_f1"].best().extrapolation
    assert f1.startswith("F1") and g.name in f1
    mae = ext["harshest_r"]["mae"]
    assert f"MAE {mae:.3f} macro-F1 on the held-out harshest ratio r = {ext['r_min']:.3f} (target <= 0.03: " \
           f"{'met' if mae <= 0.03 else 'NOT met'})" in f1
    assert f"MAE {ext['largest_D']['mae']:.3f} macro-F1 on the held-out largest D = {ext['D_max'] / 1000:g}k" in f1
    mf = g.metrics["indomain.macro_f1"]
    pred = mf.predict([max(mf.D_levels)], [min(mf.r_levels)])
    assert f"predicts macro-F1 {pred[0][0]:.3f} [{pred[1][0]:.3f}, {pred[2][0]:.3f}]" in f1
    # a law floored at chance at the harshest ratio is stated as a floor, never as a zero-width interval
    from taskdistill.scaling.fit import MetricFit

    c = np.array([mf.chance])
    with monkeypatch.context() as m:
        m.setattr(MetricFit, "predict", lambda self, D, r, **k: (c, c, c))
        floored = paper_findings(small_results(), fits)[0]
    assert f"predicts macro-F1 at its chance level {mf.chance:.3f}" in floored and "a floor, not an estimate" in floored
    assert f"{mf.chance:.3f} [" not in floored
    gap = next(x for x in g.gaps if x["general"] == fits.settings["general_metric"]
               and x["indomain"] == "indomain.macro_f1")
    assert f2.startswith("F2") and f"{gap['gap']:.3f} [{gap['ci'][0]:.3f}, {gap['ci'][1]:.3f}]" in f2

    from taskdistill.scaling import fit_table

    from ..scaling.synth import FAST

    q = quickstart_results()  # one data size, two ratios: exactly determined laws
    f1, f2, *_ = paper_findings(q, fit_table(q.copy(), FAST))
    assert "not resolved at this grid" in f1 and "no extrapolation test" in f1 and ">= 3 data sizes" in f1
    assert "not resolved at this grid" in f2 and "without an interval" in f2


def test_f2_names_the_items_a_small_teacher_margin_needs():
    from taskdistill.scaling import FitSettings, fit_table

    df = small_results().copy()
    df["mmlu.acc_stderr"] = 0.02  # teacher 0.277 +- 0.02 over chance 0.25: 1.4 SE, below the 4 SE needed
    fits = fit_table(df, FitSettings(n_boot=4, n_starts=2, cv_folds=2, boot_starts=1, cv_starts=1,
                                     metrics=("indomain.macro_f1", "mmlu.acc"), general_metric="mmlu.acc"))
    f2 = paper_findings(df, fits)[1]
    z = (df.loc[df.method == "teacher", "mmlu.acc"].iloc[0] - 0.25) / 0.02
    assert "not resolved: no collapse point for MMLU accuracy" in f2
    assert f"about {(4 / z) ** 2:.1f}x as many general-knowledge items" in f2


def _with_efficiency(df):
    df = df.copy()
    rng = np.random.default_rng(0)
    r = df["params_ratio"].astype(float)
    df["efficiency.params"] = (1_000_000 * r).round()
    df["efficiency.size_bytes"] = 2 * df["efficiency.params"]
    df["efficiency.latency_ms_batch1"] = 5 + 20 * r + rng.uniform(0, 1, len(df))
    df["efficiency.headlines_per_s"] = 1000 / df["efficiency.latency_ms_batch1"]
    df["efficiency.threads"] = 1
    return df


def test_efficiency_table_is_the_median_per_ratio_and_its_share_of_the_teacher():
    df = _with_efficiency(quickstart_results())
    et = efficiency_table(df)
    rows = df[(df.method != "teacher") & (df.status == "done")]
    assert et["model"].iloc[0] == "teacher" and len(et) == 1 + rows["target"].nunique()
    target = rows["target"].max()
    lat = rows.loc[rows["target"] == target, "efficiency.latency_ms_batch1"].median()
    teacher = df.loc[df.method == "teacher", "efficiency.latency_ms_batch1"].iloc[0]
    row = et[et["model"] == f"student, target {target:g}"].iloc[0]
    assert row["latency batch 1 (ms)"] == f"{lat:.1f}"
    assert row["latency batch 1 / teacher"] == f"{lat / teacher:.3f}"
    assert efficiency_table(quickstart_results()).empty  # no efficiency columns: no table


STAGES = "tests.sweep.fake_stages:FakeStages"


def _fake_sweep(tmp_path, name="sw"):
    from taskdistill.sweep.executors import run_sweep
    from taskdistill.sweep.spec import SweepSpec

    spec = SweepSpec.model_validate({
        "name": "t", "teacher": {"base": "tiny:llama"}, "distill": {"steps": 2, "warmup_steps": 0},
        "grid": {"dataset_size": [50, 100], "target": [0.79, 0.58], "method": ["logit"], "supervision": ["label"],
                 "schedule": ["iterative", "oneshot"], "seed": [0]}})
    run_sweep(spec, tmp_path / name, stages=STAGES, quiet=True)
    return spec, tmp_path / name


def test_sweep_export_writes_compute_json_and_the_report_reads_it(tmp_path):
    from taskdistill.sweep.dag import expand, unique_nodes

    spec, sw = _fake_sweep(tmp_path)
    out = tmp_path / "export" / "results.csv"
    out.parent.mkdir()
    res = CliRunner().invoke(app, ["sweep", "export", str(sw), "--out", str(out)])
    assert res.exit_code == 0, res.output
    comp = read_compute(out.with_name(COMPUTE_FILE))
    # what this run computed itself is said on the console (the report states what the table cost)
    assert (f"this sweep computed {comp['total']['computed']} stage node(s)" in res.output
            and f"0 of the {comp['total']['nodes']} distinct nodes" in res.output)
    # the counts equal the sweep's node graph, computed independently
    cells = expand(spec)
    uses = Counter(n.stage for c in cells for n in c.node.ancestors())
    nodes = Counter(n.stage for n in unique_nodes(cells).values())
    by = {s["stage"]: s for s in comp["stages"]}
    for stage in nodes:
        assert by[stage]["uses"] == uses[stage] and by[stage]["nodes"] == nodes[stage]
        assert by[stage]["reuses"] == uses[stage] - nodes[stage]
        assert by[stage]["computed"] == nodes[stage] and by[stage]["from_cache"] == 0
    assert by["annotate"]["nodes"] == 1 and by["annotate"]["uses"] == len(cells) - 1  # one pass, every student
    assert comp["total"]["reuses"] == sum(uses.values()) - sum(nodes.values()) > 0
    assert comp["cells"] == {"total": len(cells), "done": len(cells), "failed": 0}
    assert json.loads(out.with_name(COMPUTE_FILE).read_text()) == comp  # plain JSON, round-trips

    # a second sweep over the same grid finds every node in the cache
    _, sw2 = _fake_sweep(tmp_path, "sw2")
    from taskdistill.sweep.compute import compute_summary

    c2 = compute_summary(sw2)
    assert c2["total"]["computed"] == 0 and c2["total"]["from_cache"] == sum(nodes.values())
    assert c2["total"]["seconds_saved"] >= comp["total"]["seconds"]  # every use served, none recomputed
    # what the table cost is the same, whichever run computed the nodes: so is the report's compute section
    for k in ("nodes", "uses", "reuses", "node_seconds", "node_cpu_seconds", "shared_saved", "unrecorded"):
        assert c2["total"][k] == comp["total"][k], k
    assert comp["total"]["node_seconds"] == comp["total"]["seconds"] > 0 and comp["total"]["unrecorded"] == 0
    from taskdistill.report.build import compute_sentence, compute_table

    assert compute_sentence(c2) == compute_sentence(comp)
    assert compute_table(c2).equals(compute_table(comp))

    # the main job's report reads the store directly (no export needed)
    from rich.console import Console

    from taskdistill.pipeline import fit_and_report
    from taskdistill.task import load_task

    rep = fit_and_report(sw, Console(quiet=True), load_task("finheadlines"))
    assert f"{comp['total']['reuses']} of the {comp['total']['uses']} node uses" in rep["report"]["md"].read_text()

    # the report built from the exported files alone shows the block with the exported numbers
    df = read_results(out)
    _, md = build_report(df, None, tmp_path / "rep", fit_error="none", dpi=30)
    text = md.read_text()
    section = text[text.index("## Compute spent"):text.index("## Settings")]
    assert f"{comp['total']['reuses']} of the {comp['total']['uses']} node uses" in section
    assert f"| annotate | 1 | {len(cells) - 1} | {len(cells) - 2} |" in section


def test_report_without_compute_json_still_builds_and_says_so(tmp_path):
    df = quickstart_results().copy()
    df.attrs["source"] = str(tmp_path / "results.csv")
    _, md = build_report(df, None, tmp_path / "rep", fit_error="none", dpi=30)
    text = md.read_text()
    assert f"No compute summary at {tmp_path / COMPUTE_FILE}" in text
    assert "### Paper findings" in text and "F3, supervision format" in text


def test_a_broken_compute_json_is_an_input_error_naming_the_file(tmp_path):
    f = tmp_path / COMPUTE_FILE
    f.write_text(json.dumps({"format": 2, "stages": [{"stage": "prune", "uses": 2}]}))
    with pytest.raises(InputError, match=r"compute\.json: stages\[0\]: missing field\(s\) nodes"):
        read_compute(f)
    f.write_text(json.dumps({"format": 1, "stages": []}))  # from an older version: export again
    with pytest.raises(InputError, match=r"compute\.json: a compute summary of an older format \(1, this version "
                                         r"reads 2\); write it again with `taskdistill sweep export"):
        read_compute(f)
    f.write_text("{not json")
    with pytest.raises(InputError, match="compute.json: cannot read"):
        read_compute(f)


def test_one_recommendation_question_per_requested_ratio():
    from taskdistill.report.build import recommendation_scenarios

    df = small_results().copy()  # the cached table is shared by other tests
    harsh = (df["target"] == 0.16) & (df["schedule"] == "oneshot")
    assert harsh.any()
    df.loc[harsh, "params_ratio"] += 0.001  # the schedules' students land a hair apart, as real pruning does
    qs = [q for q, _ in recommendation_scenarios(df, small_fits()) if q.startswith("A student of")]
    # one per target ratio (the harshest at the median of 0.1653 and 0.1663), not one per measured ratio
    assert [q.split()[3] for q in qs] == ["16.6%", "37.6%", "58.6%", "79.6%"]
