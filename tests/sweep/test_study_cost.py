"""`bench/study_pilot.py --cost`: the study's cost table prices exactly the nodes the sweep computes.

The pilot's figures are synthetic here (the keys the pricing reads, round numbers); the node counts per
stage kind must match ``plan_sweep`` (the DAG the runner computes) for the same spec, so the table in
docs/study.md never prices a different grid than the one that runs.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from taskdistill.sweep.plan import plan_sweep
from taskdistill.sweep.spec import SweepSpec, load_spec, preset_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pilot():
    spec = importlib.util.spec_from_file_location("study_pilot", ROOT / "bench" / "study_pilot.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def study():
    return load_spec(preset_path("study"))


def unit(cpu: float) -> dict:
    return {"cpu_s": cpu, "wall_s": 2 * cpu, "n": 4}


def pilot_result() -> dict:
    """A pilot result with every key ``grid_cost`` reads; costs proportional to the model's size."""
    def ev(f):
        return {"indomain": unit(0.4 * f), "mmlu_cloze": unit(0.6 * f), "mmlu_text": unit(0.5 * f)}

    models = [{"target": 1.0, "params": 100, "fraction": 1.0, "eval": ev(1.0)}]
    prev = 1.0
    for t in (0.79, 0.58, 0.37, 0.16):
        distill = {"logit/label": unit(4.0 * t), "logit/blended": unit(6.0 * t)}
        if t == 0.58:
            distill["lora/label"] = unit(3.0 * t)
        models.append({"target": t, "params": int(100 * t), "fraction": t, "eval": ev(t), "distill": distill,
                       "prune": {"cpu_s": 4.0 * prev, "wall_s": 8.0 * prev, "importance_wall_s": 6.0 * prev,
                                 "n_calib": 16, "input_fraction": prev}})
        prev = t
    return {"settings": {"batch_size": 8}, "models": models,
            "topk_cache_per_example": {"label": unit(0.15), "cot": unit(0.27)}}


def with_transfer(spec: SweepSpec, sets: list[dict]) -> SweepSpec:
    raw = spec.to_json()
    raw["eval"]["transfer"] = sets
    return SweepSpec.model_validate(raw)


def real_headlines(path: Path, n: int) -> Path:
    path.write_text("headline,label\n" + "".join(f"Company {i} beats estimates,Guidance\n" for i in range(n)))
    return path


def test_cost_counts_the_nodes_the_plan_counts(pilot, study, tmp_path):
    spec = with_transfer(study, [{"name": "real-dev", "split": str(real_headlines(tmp_path / "real.csv", 7)),
                                  "task": "finheadlines-coarse"}])
    cost = pilot.grid_cost(pilot_result(), spec)
    plan = plan_sweep(spec)
    assert cost["cells"] == plan.cells == spec.n_cells()
    for kind in ("prepare", "annotate", "prune", "distill", "eval"):
        assert cost["counts"][kind] == plan.counts[kind], kind
    # one transfer node per evaluated model (the teacher, the pruned-only models, the students), as the plan
    # notes it
    [note] = [n for n in plan.notes if n.startswith("transfer set real-dev")]
    models, rows = map(int, re.search(r"(\d+) models x ~(\d+) rows", note).groups())
    assert cost["counts"]["transfer"] == models and cost["transfer"] == [
        {"name": "real-dev", "split": str(tmp_path / "real.csv"), "found": True, "rows": rows}]
    assert rows == 7 and all(cost["cpu_s"][k] > 0 for k in cost["cpu_s"])
    # preparation and annotation run alone on one worker; the rest over the workers' cores
    w = spec.execution.workers
    assert cost["wall_s"]["annotate"] == cost["cpu_s"]["annotate"]
    for kind in ("distill", "transfer"):
        assert cost["wall_s"][kind] == pytest.approx(cost["cpu_s"][kind] / w)


def test_pruned_only_rows_cost_one_evaluation_each_at_their_ratio(pilot, study):
    """prune.evaluate: an evaluate node whose model is a prune node, priced at that node's target, and no
    extra pruning in a grid with one-shot cells."""
    assert study.prune.evaluate
    raw = study.to_json()
    raw["prune"]["evaluate"] = False
    without = SweepSpec.model_validate(raw)
    result = pilot_result()
    on, off = pilot.grid_cost(result, study), pilot.grid_cost(result, without)
    targets = study.grid.target
    assert on["counts"]["eval"] - off["counts"]["eval"] == len(targets)
    assert on["counts"]["prune"] == off["counts"]["prune"] == plan_sweep(study).counts["prune"]
    rows, mmlu = study.eval.limit, study.eval.mmlu_n
    by_target = {m["target"]: m["eval"] for m in result["models"]}
    extra = sum(rows * by_target[t]["indomain"]["cpu_s"]
                + mmlu * (by_target[t]["mmlu_cloze"]["cpu_s"] + by_target[t]["mmlu_text"]["cpu_s"]) for t in targets)
    assert on["cpu_s"]["eval"] - off["cpu_s"]["eval"] == pytest.approx(extra)


def test_a_missing_transfer_file_is_listed_not_priced(pilot, study, tmp_path):
    spec = with_transfer(study, [{"name": "gone", "split": str(tmp_path / "nowhere.csv")}])
    cost = pilot.grid_cost(pilot_result(), spec)
    assert cost["counts"]["transfer"] == 0 and cost["cpu_s"]["transfer"] == 0
    assert cost["transfer"] == [{"name": "gone", "split": str(tmp_path / "nowhere.csv"), "found": False, "rows": 0}]


def test_cost_command_prints_the_table_and_refuses_a_bad_pilot_file(pilot, tmp_path, capsys):
    good = tmp_path / "pilot.json"
    good.write_text(json.dumps(pilot_result()))
    pilot.main(["--cost", "study", "--from-json", str(good)])
    out = capsys.readouterr().out
    assert "| stage | nodes | CPU hours | wall hours |" in out
    for kind in ("prepare", "annotate", "prune", "distill", "eval", "transfer", "total"):
        assert re.search(rf"^\| {kind} \|", out, re.M), kind
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"settings": {"batch_size": 8}}))
    with pytest.raises(SystemExit) as exc:
        pilot.main(["--cost", "study", "--from-json", str(bad)])
    assert exc.value.code == 2 and "bad.json: no 'models'" in capsys.readouterr().err
