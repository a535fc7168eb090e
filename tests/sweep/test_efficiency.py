"""``taskdistill sweep efficiency``: which models are measured again, the file it writes, its copy beside the
exported table, and the report's efficiency table built from it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.sweep.dag import expand
from taskdistill.sweep.efficiency import EFFICIENCY_FILE, measure_sweep, pick_cells
from taskdistill.sweep.executors import run_sweep
from taskdistill.sweep.spec import SweepSpec
from taskdistill.sweep.store import Store
from tests.sweep.test_engine import STAGES, spec_dict
from tests.sweep.test_transfer import _run_tiny, _tiny_raw


def test_pick_cells_teacher_then_one_per_schedule_first(tmp_path):
    spec = SweepSpec.model_validate(spec_dict(schedule=["iterative", "oneshot"], dataset_size=[50]))
    run_sweep(spec, tmp_path / "sw", stages=STAGES, quiet=True)
    status = {c["cell_id"]: c["status"] for c in Store(tmp_path / "sw").cells()}
    picked = pick_cells(expand(spec), status, per_target=2)
    assert picked[0].settings["method"] == "teacher"
    by_target: dict[float, list] = {}
    for c in picked[1:]:
        by_target.setdefault(c.settings["target"], []).append(c.settings)
    assert sorted(by_target) == [0.58, 0.79]
    # at 58 % the two schedules; at 79 % one-shot is the iterative model, so a second supervision instead
    assert {s["schedule"] for s in by_target[0.58]} == {"iterative", "oneshot"}
    assert [s["supervision"] for s in by_target[0.79]] == ["label", "blended"]
    assert len({c.node.input("model").key for c in picked}) == len(picked)
    # an unfinished cell is never picked
    status = {k: ("pending" if v == "done" else v) for k, v in status.items()}
    assert pick_cells(expand(spec), status, per_target=2) == []


def test_measure_export_and_report_on_tiny_llama(tmp_path):
    """~30 s: a tiny teacher and its 79 % student measured again; the report's table then uses the file."""
    from taskdistill.report import build_report
    from taskdistill.scaling.table import load_table

    raw = _tiny_raw(tmp_path)
    sw = tmp_path / "sw"
    spec, df = _run_tiny(raw, sw)
    out = measure_sweep(sw, limit=6, per_target=2, latency_n=3, repeats=1, threads=1)
    saved = json.loads((sw / EFFICIENCY_FILE).read_text())
    assert saved == json.loads(json.dumps(out))
    assert [m["method"] for m in saved["models"]] == ["teacher", "logit"] and saved["skipped"] == []
    teacher, student = saved["models"]
    assert 0.7 < student["params"] / teacher["params"] < 0.85
    assert student["size_bytes"] < teacher["size_bytes"] and student["latency_ms_batch1"] > 0
    assert saved["machine"]["torch_threads"] == 1 and saved["settings"]["limit"] == 6

    res = CliRunner().invoke(app, ["sweep", "export", str(sw), "--out", str(tmp_path / "pub" / "results.csv")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "pub" / EFFICIENCY_FILE).read_text() == (sw / EFFICIENCY_FILE).read_text()
    table = load_table(results=tmp_path / "pub" / "results.csv")
    html, md = build_report(table, None, tmp_path / "rep", fit_error="test", task=spec.task_obj)
    text = md.read_text()
    assert "measured again after the sweep, one model at a time" in text
    assert f"({saved['machine']['cpu_capability']} kernels)" in text  # which kernels timed them
    row = next(line for line in text.splitlines() if line.startswith("| student, target 0.79"))
    assert f"{student['latency_ms_batch1']:.1f}" in row


def test_cli_efficiency_bad_folder_is_one_line(tmp_path):
    res = CliRunner().invoke(app, ["sweep", "efficiency", str(tmp_path / "nope")])
    assert res.exit_code == 2 and str(tmp_path / "nope") in res.output
    assert len(res.output.strip().splitlines()) == 1
