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
    r = runner.invoke(app, ["data", "validate", str(f), "--map", "text=headline", "--map", "event=label"])
    assert r.exit_code == 1 and "row 1 (line 2), field 'headline'" in r.output and "empty_headline" in r.output
    r = runner.invoke(app, ["data", "validate", str(f), "--map", "text=headline", "--map", "event=label",
                            "--on-bad", "skip"])
    assert r.exit_code == 0, r.output
    assert "3 rows read, 1 valid" in r.output and "dropped 1 row(s): empty_headline" in r.output
    assert "dropped 1 row(s): unknown_label" in r.output


def test_generate_then_stats(tmp_path):
    out = tmp_path / "ds"
    args = ["data", "generate", "--backend", "template", "--size", "110", "--seed", "1", "--batch-size", "70",
            "--test-per-class", "1", "--val-per-class", "1", "--numeric", "0.6", "--out", str(out)]
    r = runner.invoke(app, ["--quiet", *args])
    assert r.exit_code == 0, r.output
    assert {"train.parquet", "validation.parquet", "test.parquet", "stats.json", "stats.png"} <= {
        p.name for p in out.iterdir()}
    assert "BoW probe: macro-F1" in r.output
    test = pd.read_parquet(out / "test.parquet")
    assert len(test) == 35 and list(test.columns)[:5] == ["id", "headline", "label", "category", "rationale"]
    st = json.loads((out / "stats.json").read_text())
    assert st["config"]["difficulty"]["numeric"] == 0.6
    r = runner.invoke(app, ["data", "stats", str(out), "--write"])
    assert r.exit_code == 0 and "distinct-2" in r.output
    r = runner.invoke(app, ["data", "generate", "--out", str(out), "--size", "110", "--seed", "2"])
    assert r.exit_code != 0 and "different generation settings" in str(r.exception)
