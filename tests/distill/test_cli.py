"""`taskdistill distill` end to end on the tiny:llama checkpoint, and its error path."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from taskdistill.cli import app

from .conftest import FH, MAXLEN, make_df


def test_distill_cli_end_to_end(tmp_path):
    from taskdistill.models import load_model
    from taskdistill.targets.cache import write_topk_cache
    from taskdistill.targets.examples import build_examples

    data = tmp_path / "data"
    data.mkdir()
    make_df(16).to_parquet(data / "train.parquet")
    make_df(4, offset=40).to_parquet(data / "validation.parquet")
    teacher, tok = load_model("tiny:llama")
    ex = build_examples(tok, FH, make_df(16), fmt="cot", max_length=MAXLEN)
    write_topk_cache(teacher, tok, ex, tmp_path / "cache", k=8, quiet=True)
    res = CliRunner().invoke(app, [
        "--quiet", "distill", "--student", "tiny:llama", "--data", str(data), "--cache", str(tmp_path / "cache"),
        "--method", "lora", "--supervision", "blended", "--steps", "2", "--warmup-steps", "0",
        "--batch-size", "4", "--max-length", str(MAXLEN), "--eval-data", str(data), "--out", str(tmp_path / "run"),
        "--threads", "1"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["steps"] == 2 and (tmp_path / "run" / "final" / "config.json").exists()
    assert out["eval_before"]["n_examples"] == 4 and "ce_answer" in out["eval_after"]
    # no --task and no annotations: the default task, recorded with the student
    rec = json.loads((tmp_path / "run" / "final" / "distill_config.json").read_text())["task"]
    assert rec == {"name": "finheadlines", "hash": FH.hash}
    # data labelled for finheadlines, read as another task: one line naming file, row and field
    res = CliRunner().invoke(app, [
        "distill", "--student", "tiny:llama", "--data", str(data), "--task", "finheadlines-coarse",
        "--supervision", "sft", "--steps", "1", "--out", str(tmp_path / "run2")])
    assert res.exit_code == 2
    assert "train.parquet: row 0" in " ".join(res.output.split()) and "'label'" in res.output


def test_distill_cli_errors(tmp_path):
    data = tmp_path / "train.parquet"
    make_df(4).to_parquet(data)
    res = CliRunner().invoke(app, ["distill", "--student", "tiny:llama", "--data", str(data),
                                   "--supervision", "blended", "--max-length", str(MAXLEN), "--out",
                                   str(tmp_path / "r"), "--cache", str(tmp_path / "missing")])
    assert res.exit_code == 2
    assert "teacher cache not found" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["distill", "--student", "tiny:llama", "--data", str(data),
                                   "--supervision", "blended", "--max-length", str(MAXLEN), "--out",
                                   str(tmp_path / "r")])
    assert res.exit_code == 2 and "needs a teacher cache" in " ".join(res.output.split())
