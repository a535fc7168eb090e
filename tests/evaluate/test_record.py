"""The result record, its flat view, efficiency numbers and the `taskdistill eval` command."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.evaluate.efficiency import measure_efficiency
from taskdistill.evaluate.record import SCHEMA, evaluate_model, flatten_record, load_record, save_record
from taskdistill.models import make_tiny_model
from taskdistill.models.arch import count_params
from taskdistill.task import load_task

FH = load_task("finheadlines")
LABELS = FH.label_names


def _write_split(path, n=5, bad_label=False):
    labels = [LABELS[(3 * i) % len(LABELS)] for i in range(n)]
    if bad_label:
        labels[2] = "not a label"
    pd.DataFrame({"id": [f"x{i}" for i in range(n)], "headline": [f"Firm {i} news" for i in range(n)],
                  "label": labels, "category": [FH.group(x) if x in LABELS else "OTHER" for x in labels],
                  "rationale": [""] * n}).to_parquet(path)
    return path


def test_record_has_every_setting_and_flattens(tmp_path):
    split = _write_split(tmp_path / "test.parquet")
    mmlu = tmp_path / "mmlu"
    mmlu.mkdir()
    for subject in ("virology", "anatomy"):
        pd.DataFrame([[f"{subject} q{i}?", "a", "b", "c", "d", "ABCD"[i]] for i in range(3)]).to_csv(
            mmlu / f"{subject}_test.csv", header=False, index=False)
    rec = evaluate_model("tiny:llama", split, mmlu_n=4, scoring="letter", limit=4, seed=2, batch_size=4,
                         mmlu_path=mmlu, efficiency=True, efficiency_n=2, progress=False)
    assert rec["schema"] == SCHEMA
    # no --task and a model without a recorded task: finheadlines, answering in its own labels
    assert rec["task"] == rec["model_task"] == {"name": "finheadlines", "hash": FH.hash}
    assert rec["indomain"]["task"]["hash"] == FH.hash and "transfer" not in rec["indomain"]
    assert rec["model"]["hash"] and rec["model"]["params"] == rec["efficiency"]["params"]
    assert rec["split"]["hash"] and rec["split"]["rows"] == 5
    s = rec["settings"]
    assert (s["fmt"], s["mode"], s["fewshot"], s["limit"], s["seed"], s["batch_size"], s["dtype"]) == \
        ("label", "label", 0, 4, 2, 4, "float32")
    assert rec["mmlu"]["n"] == 4 and rec["mmlu"]["seed"] == 2 and rec["mmlu"]["variant"] == "mmlu-letter"
    assert rec["mmlu"]["layout"] == "mmlu-csv" and rec["mmlu"]["per_subject"]["anatomy"]["n"] == 2
    assert "torch" in rec["versions"] and "commit" in rec["git"]
    flat = flatten_record(rec)
    assert all(v is None or isinstance(v, (str, int, float, bool)) for v in flat.values())
    for key in ("indomain.macro_f1", "indomain.nll", "indomain.brier", "mmlu.acc", "mmlu.acc_stderr",
                "settings.seed", "model.hash", "split.hash", "efficiency.headlines_per_s", "git.commit"):
        assert key in flat, key
    assert not any(k.startswith(("indomain.per_class", "indomain.confusion", "mmlu.items.")) for k in flat)
    path = save_record(rec, tmp_path / "r.json")
    back = load_record(path)
    assert back["indomain"]["macro_f1"] == rec["indomain"]["macro_f1"]  # numbers stay numbers
    assert isinstance(json.loads(path.read_text())["indomain"]["nll"], float)


def test_efficiency_counts_match_arch():
    model, tok = make_tiny_model("qwen2", tied=False)
    eff = measure_efficiency(model, tok, FH, texts=["a b", "c d"], batch_size=2, latency_n=1)
    assert eff["params"] == count_params(model)
    assert eff["params_non_embedding"] == count_params(model, non_embedding=True) < eff["params"]
    assert eff["size_bytes"] == 4 * eff["params"] and eff["size_source"].startswith("parameter")
    assert eff["headlines_per_s"] > 0 and eff["latency_ms_batch1"] > 0
    assert eff["n_labels"] == 35
    with pytest.raises(ValueError, match="at least one input"):
        measure_efficiency(model, tok, FH, texts=[])


def test_cli_eval_writes_record(tmp_path):
    split = _write_split(tmp_path / "test.parquet")
    out = tmp_path / "res.json"
    r = CliRunner().invoke(app, ["eval", "--model", "tiny:qwen3", "--data", str(split), "--limit", "3",
                                 "--mmlu", "0", "--no-efficiency", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rec = json.loads(out.read_text())
    assert rec["indomain"]["n"] == 3 and rec["mmlu"] is None and rec["settings"]["mmlu_scoring"] is None


def test_cli_errors(tmp_path):
    runner = CliRunner()
    bad = _write_split(tmp_path / "test.parquet", bad_label=True)
    r = runner.invoke(app, ["eval", "--model", "tiny:llama", "--data", str(bad), "--mmlu", "0", "--no-efficiency"])
    assert r.exit_code == 2 and "row 2" in r.output and "not a label" in r.output
    r = runner.invoke(app, ["eval", "--model", "tiny:llama", "--mmlu", "lots"])
    assert r.exit_code != 0 and "--mmlu" in r.output
    r = runner.invoke(app, ["eval", "--model", "tiny:llama", "--mmlu", "0"])
    assert r.exit_code != 0 and "nothing to evaluate" in r.output
