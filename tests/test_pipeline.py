"""A user's own task end to end, through the command line as a user runs it.

A 4-way ticket-routing task (tests/task/toy.py: a task YAML and a CSV of a few hundred labelled rows)
is imported with `taskdistill data import`, then one sweep spec (`task:` the toy YAML, `data.path` the
imported folder) runs every stage on a tiny random Llama through `taskdistill run -c`: teacher
preparation, annotation, pruning (importance on the task's prompts), distillation, evaluation, the
scaling fits and the report. The report must speak in the task's own class names. Nothing is mocked;
the models are tiny, so the numbers are meaningless and the test takes about a minute on 2 cores.
"""

from __future__ import annotations

import json

import pandas as pd
import yaml
from typer.testing import CliRunner

from taskdistill.cli import app
from tests.task.toy import LABELS, write_toy_task


def test_toy_task_from_csv_to_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    csv_path, task_path = write_toy_task(tmp_path / "toy", n_per_label=40)
    runner = CliRunner()
    res = runner.invoke(app, ["data", "import", str(csv_path), "--task", str(task_path), "--map", "text=ticket",
                              "--map", "label=queue", "--map", "id=ticket_id", "--out", "tickets"])
    assert res.exit_code == 0, res.output
    train = pd.read_parquet(tmp_path / "tickets" / "train.parquet")
    assert set(train["label"]) == set(LABELS) and "text" in train.columns

    spec = {
        "name": "toy", "task": "toy/ticket-routing.yaml",  # relative to this spec file
        "grid": {"dataset_size": [24, 48], "target": [0.79, 0.58], "method": ["logit"], "supervision": ["label"],
                 "schedule": ["iterative"], "seed": [0]},
        "teacher": {"base": "tiny:llama",
                    "prepare": {"steps": 2, "batch_size": 4, "cot_fraction": 0.0, "warmup_steps": 0,
                                "max_length": 256, "eval_limit": 4, "eval_batch_size": 4, "cot_eval_limit": 0}},
        "data": {"path": "tickets"},
        "annotate": {"k": 4, "formats": ["label"], "options": {"max_length": 256, "batch_size": 8}},
        "prune": {"calib_n": 8},
        "distill": {"epochs": 0.25, "batch_size": 4, "warmup_steps": 0, "max_length": 256},
        "eval": {"limit": 8, "mmlu_n": 4, "efficiency": False},
        "execution": {"threads": 1},
    }
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(spec))
    res = runner.invoke(app, ["--quiet", "run", "toy.yaml", "--out", "runs/toy", "--demo-headlines", "2"])
    assert res.exit_code == 0, res.output + repr(res.exception)

    sweep = tmp_path / "runs" / "toy"
    assert (sweep / "task.yaml").read_bytes() == task_path.read_bytes()
    assert json.loads((sweep / "spec.json").read_text())["task_name"] == "ticket-routing"
    from taskdistill.sweep.store import load_results

    df = load_results(sweep)
    assert len(df) == 1 + 2 * 2  # the teacher + 2 data sizes x 2 targets
    # the budget is epochs over D: a quarter pass over 24 / 48 rows at batch 4 = 2 / 3 steps
    assert "teacher's top-" in res.output and "test inputs" in res.output
    md = (sweep / "report" / "report.md").read_text()
    html = (sweep / "report" / "report.html").read_text()
    for label in LABELS:
        assert label in md and label in html, label
    assert "ticket-routing" in md
