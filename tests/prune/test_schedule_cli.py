"""Schedules, calibration text, and the `taskdistill prune` command."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.data.taxonomy import LABELS
from taskdistill.models import make_tiny_tokenizer
from taskdistill.prune.calib import calibration_texts
from taskdistill.prune.schedule import iterative_steps, paper_steps


def test_paper_steps_and_iterative():
    assert paper_steps() == [0.79, 0.58, 0.37, 0.16]
    steps = iterative_steps(paper_steps())
    assert [(s.start, s.target) for s in steps] == [(1.0, 0.79), (0.79, 0.58), (0.58, 0.37), (0.37, 0.16)]
    assert steps[1].relative == pytest.approx(0.58 / 0.79)
    with pytest.raises(ValueError, match="strictly decreasing"):
        iterative_steps([0.5, 0.6])
    with pytest.raises(ValueError, match="fraction"):
        iterative_steps([1.5])


@pytest.fixture
def calib_parquet(tmp_path):
    rows = [{"id": str(i), "headline": f"Company {i} beats estimates", "label": LABELS[i % len(LABELS)],
             "category": "x", "rationale": ""} for i in range(12)]
    path = tmp_path / "train.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def test_calibration_texts(calib_parquet, tmp_path):
    tok = make_tiny_tokenizer()
    texts = calibration_texts(tok, calib_parquet, n=8)
    assert len(texts) == 8 and all("<|im_start|>assistant\n[[" in t for t in texts)
    assert texts == calibration_texts(tok, calib_parquet, n=8)  # deterministic
    bad = tmp_path / "bad.parquet"
    pd.DataFrame([{"headline": "x", "label": "not a label"}]).to_parquet(bad)
    with pytest.raises(ValueError, match="row 0 field 'label'"):
        calibration_texts(tok, bad, n=4)


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
                              "--method", "magnitude"])
    assert res.exit_code == 2 and "target" in res.output
