"""The real stages on a tiny random Llama: the sweep wires data -> teacher -> annotations -> prune ->
distill -> evaluate for real (no placeholders), and the iterative chain really prunes the 58% student
from the *distilled* 79% one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from taskdistill.sweep.dag import expand
from taskdistill.sweep.executors import run_sweep
from taskdistill.sweep.runner import read_node
from taskdistill.sweep.spec import SweepSpec, load_spec
from taskdistill.sweep.store import load_results
from taskdistill.task import load_task

REPO = Path(__file__).resolve().parents[2]
TASK = load_task("finheadlines")
LABELS, coarse = TASK.label_names, TASK.group


def make_split(n: int, offset: int, prefix: str) -> pd.DataFrame:
    labels = [LABELS[(i + offset) % len(LABELS)] for i in range(n)]
    return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)],
                         "headline": [f"Acme {lab} item {i}" for i, lab in enumerate(labels)],
                         "label": labels, "category": [coarse(lab) for lab in labels],
                         "rationale": [f"It reports a {lab}." for lab in labels]})


@pytest.fixture
def tiny_spec(tmp_path, monkeypatch) -> SweepSpec:
    monkeypatch.setenv("TASKDISTILL_HOME", str(tmp_path / "home"))  # slow tests get no private home
    d = tmp_path / "ds"
    d.mkdir()
    make_split(40, 0, "tr").to_parquet(d / "train.parquet", index=False)
    make_split(8, 3, "va").to_parquet(d / "validation.parquet", index=False)
    make_split(10, 7, "te").to_parquet(d / "test.parquet", index=False)
    raw = load_spec(REPO / "configs" / "tiny.yaml").model_dump(mode="json")
    raw["data"]["path"] = str(d)
    raw["grid"]["dataset_size"] = [24]
    raw["eval"] = {"limit": 8, "mmlu_n": 4, "efficiency": False}
    raw["teacher"]["prepare"]["eval_limit"] = 4
    return SweepSpec.model_validate(raw)


@pytest.mark.slow  # ~40 s of CPU (a tiny teacher prepared, annotated, pruned, distilled, evaluated)
def test_real_stages_end_to_end_on_tiny_llama(tiny_spec, tmp_path):
    counts = run_sweep(tiny_spec, tmp_path / "sw", quiet=True)
    sw = tmp_path / "sw"
    from taskdistill.sweep.store import Store

    errors = [c["error"] for c in Store(sw).cells() if c["status"] == "failed"]
    assert counts["failed"] == 0, errors[0]
    df = load_results(sw)
    assert len(df) == tiny_spec.n_cells() == 5
    students = df[df.method != "teacher"]
    for t in (0.79, 0.58):
        ratio = students[students.target == t].params_ratio
        assert np.allclose(ratio, t, atol=0.05), (t, ratio.tolist())
    assert (df[df.method == "teacher"].params_ratio == 1.0).all()
    assert set(students.schedule) == {"iterative", "oneshot"}
    for col in ("indomain.macro_f1", "indomain.nll", "indomain.brier", "mmlu.acc", "mmlu.gold_ll_per_char"):
        assert df[col].notna().all() and np.isfinite(df[col]).all(), col

    cells = expand(tiny_spec)
    def cell(t, sched):
        return next(c for c in cells if c.settings["target"] == t and c.settings["schedule"] == sched)

    def prune_report(c):
        node = c.node.input("model").input("student")
        return json.loads((Path(read_node(node)["path"]) / "prune_report.json").read_text())

    # the iterative 58% student is pruned from the distilled 79% student of the same chain ...
    assert prune_report(cell(0.58, "iterative"))["sweep_input"] == read_node(
        cell(0.79, "iterative").node.input("model"))["path"]
    # ... the one-shot one straight from the teacher, with the whole budget
    teacher_path = read_node(next(n for n in cells[0].node.ancestors() if n.stage == "teacher"))["path"]
    assert prune_report(cell(0.58, "oneshot"))["sweep_input"] == teacher_path
    run = json.loads((Path(read_node(cell(0.58, "oneshot").node.input("model"))["path"]).parent
                      / "run.json").read_text())
    assert run["config"]["steps"] == 2 * tiny_spec.distill.steps
    from taskdistill.cache import stage_dir

    assert len([p for p in stage_dir("annotations").iterdir() if not p.name.startswith(".")]) == 1

    # a rerun computes nothing and adds no rows
    counts = run_sweep(tiny_spec, sw, quiet=True)
    assert counts == {"done": 0, "skipped": 0, "failed": 0}
    assert len(load_results(sw)) == 5


@pytest.mark.slow
def test_main_job_writes_report_and_rerun_reuses_everything(tiny_spec, tmp_path, capsys):
    import time

    import yaml

    from taskdistill.pipeline import run_main

    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(yaml.safe_dump(tiny_spec.model_dump(mode="json")))
    assert run_main(config=spec_file, out=tmp_path / "run", demo_n=3, quiet=True) == 0
    out = capsys.readouterr().out
    assert "teacher's top-3 label scores on 3 test headlines" in out and "results (one row" in out
    html = tmp_path / "run" / "report" / "report.html"
    assert html.is_file() and f"report: {html}" in out.replace("\n", "")
    assert (tmp_path / "run" / "report" / "report.md").is_file()

    from taskdistill.sweep.store import Store

    computed = Store(tmp_path / "run").node_times()
    records = Store(tmp_path / "run").node_records()
    cpu = {k: r["cpu_seconds"] for k, r in records.items() if r["cpu_seconds"] is not None}
    # every computed node has its CPU time (the worker process's), and training a tiny model takes some
    assert set(cpu) == set(computed) and all(v >= 0 for v in cpu.values())
    assert sum(v for k, v in cpu.items() if computed[k][0] == "distill") > 0
    stamp = html.stat().st_mtime_ns
    t0 = time.perf_counter()
    assert run_main(config=spec_file, out=tmp_path / "run", demo_n=3, quiet=True) == 0
    print(f"rerun of the main job: {time.perf_counter() - t0:.1f} s")
    assert Store(tmp_path / "run").node_times() == computed  # no stage ran again
    assert html.stat().st_mtime_ns == stamp  # unchanged results: the report is not rebuilt
    assert len(load_results(tmp_path / "run")) == 5
