"""The paper's grid, calibration text, and the `taskdistill prune` command."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.models import make_tiny_tokenizer
from taskdistill.prune import paper_steps
from taskdistill.prune.calib import calibration_texts
from taskdistill.task import Task, load_task

LABELS = load_task("finheadlines").label_names


def test_paper_steps():
    assert paper_steps() == [0.79, 0.58, 0.37, 0.16]


@pytest.fixture
def calib_parquet(tmp_path):
    rows = [{"id": str(i), "headline": f"Company {i} beats estimates", "label": LABELS[i % len(LABELS)],
             "category": "x", "rationale": ""} for i in range(12)]
    path = tmp_path / "train.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def test_calibration_texts(calib_parquet, tmp_path):
    tok = make_tiny_tokenizer()
    texts = calibration_texts(tok, "finheadlines", calib_parquet, n=8)
    assert len(texts) == 8 and all("<|im_start|>assistant\n[[" in t for t in texts)
    assert texts == calibration_texts(tok, "finheadlines", calib_parquet, n=8)  # deterministic
    bad = tmp_path / "bad.parquet"
    pd.DataFrame([{"headline": "x", "label": "not a label"}]).to_parquet(bad)
    with pytest.raises(ValueError, match="row 0 field 'label'"):
        calibration_texts(tok, "finheadlines", bad, n=4)


def _ticket_task() -> Task:
    return Task.model_validate({
        "name": "tickets", "input_field": "text",
        "instructions": {"label": "Route the support ticket.", "cot": "Route it; think first."},
        "labels": [{"answer": "billing"}, {"answer": "outage"}]})


def test_calibration_texts_follow_the_task(tmp_path):
    """A user task: its input column, its instruction, its labels; the importance key moves with it."""
    from taskdistill.models import make_tiny_model
    from taskdistill.prune import compute_importance

    task = _ticket_task()
    path = tmp_path / "tickets.parquet"
    pd.DataFrame({"id": ["a", "b", "c"], "text": ["card charged twice", "site down", "refund please"],
                  "label": ["billing", "outage", "billing"]}).to_parquet(path)
    model, tok = make_tiny_model("llama")
    texts = calibration_texts(tok, task, path, n=3)
    assert all("Route the support ticket." in t for t in texts)
    assert sorted(t.rsplit("[[", 1)[1] for t in texts) == ["billing]]", "billing]]", "outage]]"]
    with pytest.raises(ValueError, match="needs a 'text' column, the input field of task 'tickets'"):
        calibration_texts(tok, task, _write(tmp_path, {"headline": ["x"], "label": ["billing"]}), n=2)
    with pytest.raises(ValueError, match="'refund' is not one of the 2 labels of task 'tickets'"):
        calibration_texts(tok, task, _write(tmp_path, {"text": ["x"], "label": ["refund"]}), n=2)
    a = compute_importance(model, tok, texts, task_hash=task.hash, progress=False)
    b = compute_importance(model, tok, texts, task_hash=load_task("finheadlines").hash, progress=False)
    assert a.meta["key"] != b.meta["key"]  # two tasks never share importance scores


def _write(tmp_path, cols: dict):
    path = tmp_path / f"bad{len(list(tmp_path.iterdir()))}.parquet"
    pd.DataFrame(cols).to_parquet(path)
    return path


def test_cli_prune_and_errors(calib_parquet, tmp_path):
    runner = CliRunner()
    out = tmp_path / "student"
    res = runner.invoke(app, ["prune", "--model", "tiny:llama", "--target", "0.58", "--calib", str(calib_parquet),
                              "--strategy", "combined", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "% of teacher" in res.output and "intermediate" in res.output
    rep = json.loads((out / "prune_report.json").read_text())
    assert abs(rep["fraction_of_reference"] - 0.58) <= 0.01
    # iterative: the reference is read from the student's report
    res = runner.invoke(app, ["prune", "--model", str(out), "--target", "0.37", "--calib", str(calib_parquet),
                              "--out", str(tmp_path / "s2")])
    assert res.exit_code == 0, res.output
    rep2 = json.loads((tmp_path / "s2" / "prune_report.json").read_text())
    assert rep2["reference_params"] == rep["reference_params"]
    assert abs(rep2["fraction_of_reference"] - 0.37) <= 0.01
    res = runner.invoke(app, ["prune", "--model", "tiny:llama", "--target", "1.5", "--out", str(tmp_path / "x"),
                              "--importance", "magnitude"])
    assert res.exit_code == 2 and "target" in res.output
