"""`taskdistill data ...` commands end to end (small sizes)."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from taskdistill.cli import app

runner = CliRunner()


def test_validate_ok_error_and_skip(tmp_path):
    rows = [dict(id="a", text="Apple jumps 5%", event="shares rise"), dict(id="b", text=" ", event="layoffs"),
            dict(id="c", text="Boeing falls", event="bearish")]
    f = tmp_path / "x.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    r = runner.invoke(app, ["data", "validate", str(f), "--map", "headline=text", "--map", "label=event"])
    assert r.exit_code == 2 and "row 1 (line 2), field 'headline'" in r.output and "empty_text" in r.output
    assert r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1
    r = runner.invoke(app, ["data", "validate", str(f), "--map", "headline=text", "--map", "label=event",
                            "--on-bad", "skip"])
    assert r.exit_code == 0, r.output
    assert "3 rows read, 1 valid" in r.output and "dropped 1 row(s): empty_text" in r.output
    assert "dropped 1 row(s): unknown_label" in r.output and "nothing written" in r.output
    assert [p.name for p in tmp_path.iterdir()] == ["x.jsonl"]
    out = tmp_path / "valid.parquet"
    r = runner.invoke(app, ["data", "validate", str(f), "--map", "headline=text", "--map", "label=event",
                            "--on-bad", "skip", "--out", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert df.to_dict("records") == [dict(id="a", headline="Apple jumps 5%", label="shares rise",
                                          category="Stock price movement", rationale="")]
    # the same rows read for the coarse task: labels of the other task are unknown there
    r = runner.invoke(app, ["data", "validate", str(f), "--task", "finheadlines-coarse", "--map", "headline=text",
                            "--map", "label=event", "--on-bad", "skip"])
    assert r.exit_code == 0 and "0 valid for task finheadlines-coarse" in r.output
    # --map FIELD=COLUMN as in `data import`: `text` stands for the task's input field (headline)
    r = runner.invoke(app, ["data", "validate", str(f), "--map", "text=text", "--map", "label=event",
                            "--on-bad", "skip"])
    assert r.exit_code == 0 and "3 rows read, 1 valid" in r.output, r.output
    r = runner.invoke(app, ["data", "validate", str(f), "--map", "label=nope"])
    assert r.exit_code == 2 and "nope" in r.output and r.output.startswith("error: ")
    r = runner.invoke(app, ["data", "validate", str(f), "--task", "nope.yaml"])
    assert r.exit_code == 2 and "error: task 'nope.yaml': not a built-in task" in r.output


def test_generate_then_stats(tmp_path):
    out = tmp_path / "ds"
    args = ["data", "generate", "--backend", "template", "--size", "110", "--seed", "1", "--iteration-size", "70",
            "--test-per-class", "1", "--val-per-class", "1", "--numeric", "0.6", "--out", str(out)]
    r = runner.invoke(app, ["--quiet", *args])
    assert r.exit_code == 0, r.output
    assert {"train.parquet", "validation.parquet", "test.parquet", "stats.json", "stats.png", "task.yaml"} <= {
        p.name for p in out.iterdir()}
    assert "BoW probe: macro-F1" in r.output
    test = pd.read_parquet(out / "test.parquet")
    assert len(test) == 35 and list(test.columns)[:5] == ["id", "headline", "label", "category", "rationale"]
    st = json.loads((out / "stats.json").read_text())
    assert st["config"]["difficulty"]["numeric"] == 0.6
    r = runner.invoke(app, ["data", "stats", str(out), "--write"])
    assert r.exit_code == 0 and "distinct-2" in r.output
    r = runner.invoke(app, ["data", "stats", str(out), "--write", "--task", "finheadlines-coarse"])
    assert r.exit_code == 2 and "dataset is labelled for task 'finheadlines'" in r.output
    # the template grammar writes finheadlines only
    r = runner.invoke(app, ["data", "generate", "--task", "finheadlines-coarse", "--size", "50", "--out",
                            str(tmp_path / "coarse")])
    assert r.exit_code == 2 and "template backend is the FinHeadlineMix grammar" in r.output
    r = runner.invoke(app, ["data", "generate", "--out", str(out), "--size", "110", "--seed", "2",
                            "--test-per-class", "1", "--val-per-class", "1"])
    assert r.exit_code == 2 and "different generation settings (batch_size, difficulty, seed)" in r.output, r.output
    # too small for the default split sizes: refused before any generation, saying which sizes work
    r = runner.invoke(app, ["data", "generate", "--out", str(tmp_path / "small"), "--size", "300"])
    assert r.exit_code == 2 and "--size 300: too small" in r.output and "use --size >= 1085" in r.output, r.output
    assert not (tmp_path / "small").exists()
