"""Transfer evaluation: a model of one task scored on data labelled for a task derived from it
(finheadlines -> finheadlines-coarse), and the task checks around model folders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.evaluate.indomain import TransferError, evaluate_indomain, score_labels, transfer_matrix
from taskdistill.models import make_tiny_model
from taskdistill.targets.record import write_task
from taskdistill.task import load_task

FH = load_task("finheadlines")
COARSE = load_task("finheadlines-coarse")
TEXTS = ["Acme beats Q3 estimates", "Globex cut to sell at Foo Bank", "Initech to buy Hooli for $2bn",
         "Hooli names new CFO", "Umbrella wins FDA nod for drug", "Stark raises dividend 5%"]
# coarse labels as a file would spell them; "Management changes" is an alias of "Labour Issues"
GOLD = ["Earnings", "Analyst Rating", "Mergers and Acquisitions", "Management changes", "Product Approval",
        "Dividends"]


def _coarse_csv(path):
    pd.DataFrame({"headline": TEXTS, "label": GOLD}).to_csv(path, index=False)
    return path


def _toy_task(path):
    path.write_text("\n".join([
        "name: toy-routing", "input_field: text",
        "instructions: {label: 'Route the ticket. Answer as [[team]].', cot: 'Route it; think first.'}",
        "labels:", "  - {answer: billing}", "  - {answer: tech}", ""]))
    return path


def test_transfer_matrix_maps_each_label_to_its_group():
    m = transfer_matrix(COARSE, FH)
    assert m.shape == (35, 13) and (m.sum(1) == 1).all()
    for i, lab in enumerate(FH.label_names):
        assert m[i, COARSE.index(FH.group(lab))] == 1
    with pytest.raises(TransferError, match="not derived from model task 'finheadlines-coarse'"):
        transfer_matrix(FH, COARSE)


def test_transfer_sums_the_model_probabilities_per_group(tmp_path):
    model, tok = make_tiny_model("llama", seed=2, layers=2)
    df = pd.DataFrame({"id": [f"r{i}" for i in range(6)], "headline": TEXTS, "label": GOLD})
    res = evaluate_indomain(model, tok, df, COARSE, model_task=FH, batch_size=3, progress=False)
    fine = score_labels(model, tok, FH, TEXTS, batch_size=3, progress=False)
    want = np.zeros((6, 13))
    for k, lab in enumerate(FH.label_names):
        want[:, COARSE.index(FH.group(lab))] += fine[:, k]
    gold = [COARSE.canonical(g) for g in GOLD]
    assert gold[3] == "Labour Issues"  # the alias is read as its label
    np.testing.assert_allclose(res["examples"]["p_gold"], [want[i, COARSE.index(g)] for i, g in enumerate(gold)],
                               atol=1e-9)
    assert res["examples"]["pred"] == [COARSE.label_names[j] for j in want.argmax(1)]
    assert res["accuracy"] == pytest.approx(np.mean(want.argmax(1) == [COARSE.index(g) for g in gold]))
    # everything at the derived level; no group metric (the coarse task has no groups)
    assert len(res["per_class"]) == 13 and np.array(res["confusion"]).shape == (13, 13)
    assert res["labels"] == list(COARSE.label_names) and "macro_f1_coarse" not in res
    assert {r["label"]: r["support"] for r in res["per_class"]}["Labour Issues"] == 1
    assert res["transfer"]["model_task"]["name"] == "finheadlines" and res["task"]["name"] == "finheadlines-coarse"
    assert "summed per label of 'finheadlines-coarse'" in res["settings"]["scoring"]


def test_cli_transfer_eval_on_a_coarse_csv(tmp_path):
    model, tok = make_tiny_model("llama", seed=2, layers=2)
    mdir = tmp_path / "model"
    model.save_pretrained(mdir)
    tok.save_pretrained(mdir)
    write_task(mdir, FH)  # as `teacher prepare` / `distill` record it
    csv = _coarse_csv(tmp_path / "real.csv")
    out = tmp_path / "r.json"
    runner = CliRunner()
    r = runner.invoke(app, ["eval", "--model", str(mdir), "--data", str(csv), "--task", "finheadlines-coarse",
                            "--mmlu", "0", "--no-efficiency", "--out", str(out), "--threads", "1"])
    assert r.exit_code == 0, r.output
    rec = json.loads(out.read_text())
    assert rec["task"]["name"] == "finheadlines-coarse" and rec["model_task"]["name"] == "finheadlines"
    ind = rec["indomain"]
    assert ind["n"] == 6 and len(ind["confusion"]) == 13 and sum(map(sum, ind["confusion"])) == 6
    assert {"recall", "precision", "f1", "support", "predicted"} <= set(ind["per_class"][0])
    assert "per label (derived task)" in r.output and "confusion" in r.output  # printed for the user

    # the model is recorded for finheadlines: asking it to answer in another task's labels is refused
    r = runner.invoke(app, ["eval", "--model", str(mdir), "--data", str(csv), "--task", "finheadlines-coarse",
                            "--model-task", "finheadlines-coarse", "--mmlu", "0", "--no-efficiency"])
    assert r.exit_code == 2
    assert "was made for task 'finheadlines'" in " ".join(r.output.split())
    # a task that is not derived from the model's task cannot be scored by summing
    toy = _toy_task(tmp_path / "toy.yaml")
    pd.DataFrame({"text": ["refund please", "app crashes"], "label": ["billing", "tech"]}).to_csv(
        tmp_path / "toy.csv", index=False)
    r = runner.invoke(app, ["eval", "--model", str(mdir), "--data", str(tmp_path / "toy.csv"), "--task", str(toy),
                            "--mmlu", "0", "--no-efficiency"])
    assert r.exit_code == 2 and "not derived from model task 'finheadlines'" in " ".join(r.output.split())
    # a label the coarse task does not know: one line naming file, row and field
    pd.DataFrame({"headline": ["x y"], "label": ["Rumours"]}).to_csv(tmp_path / "bad.csv", index=False)
    r = runner.invoke(app, ["eval", "--model", str(mdir), "--data", str(tmp_path / "bad.csv"), "--task",
                            "finheadlines-coarse", "--mmlu", "0", "--no-efficiency"])
    assert r.exit_code == 2 and "bad.csv: row 0" in " ".join(r.output.split()) and "'label'" in r.output


def test_a_task_without_groups_has_no_group_metric(tmp_path):
    toy = load_task(_toy_task(tmp_path / "toy.yaml"))
    model, tok = make_tiny_model("qwen2")
    df = pd.DataFrame({"id": ["a", "b", "c"], "text": ["refund please", "app crashes", "card declined"],
                       "label": ["billing", "tech", "billing"]})
    res = evaluate_indomain(model, tok, df, toy, progress=False)
    assert res["n"] == 3 and len(res["per_class"]) == 2 and "macro_f1_coarse" not in res
    assert "category" not in res["per_class"][0] and res["task"]["name"] == "toy-routing"
