"""In-domain scoring on tiny models: distributions, equality with the naive method, cot mode,
and clear errors for bad splits and tokenizers that cannot spell a label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from taskdistill.evaluate.indomain import (
    LabelEncodingError,
    SplitError,
    evaluate_indomain,
    label_token_ids,
    normalise,
    read_split,
    score_label_logprobs,
    score_labels,
)
from taskdistill.evaluate.scoring import score_naive
from taskdistill.models import make_tiny_model
from taskdistill.task import load_task
from taskdistill.task.prompts import render_prompt

FH = load_task("finheadlines")
LABELS = FH.label_names

HEADS = ["Acme beats estimates", "Globex cut to sell at Foo Bank", "Initech to buy Hooli"]


def _split(n: int = 6) -> pd.DataFrame:
    labels = [LABELS[(7 * i) % len(LABELS)] for i in range(n)]
    return pd.DataFrame({"id": [f"h{i}" for i in range(n)], "headline": [f"{HEADS[i % 3]} {i}" for i in range(n)],
                         "label": labels, "category": [FH.group(x) for x in labels], "rationale": [""] * n})


def test_probabilities_sum_to_one(tiny):
    model, tok = tiny
    probs = score_labels(model, tok, FH, HEADS[:2], batch_size=2, progress=False)
    assert probs.shape == (2, len(LABELS))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-12)
    assert (probs > 0).all()


def test_kv_reuse_equals_naive():
    model, tok = make_tiny_model("llama", seed=3, layers=2)
    head = HEADS[1]
    lp, _ = score_label_logprobs(model, tok, FH, [head, HEADS[0]], batch_size=2, progress=False)
    ctx = tok.encode(render_prompt(tok, FH, head, "label"), add_special_tokens=False)
    naive = score_naive(model, ctx, label_token_ids(tok, FH))
    np.testing.assert_allclose(lp[0], naive, atol=1e-4, rtol=0)
    np.testing.assert_allclose(normalise(lp)[0], normalise(naive[None])[0], atol=1e-5)


def test_cot_mode_scores_after_the_generated_trace():
    model, tok = make_tiny_model("llama", seed=1, layers=2)
    lp, det = score_label_logprobs(model, tok, FH, HEADS[:2], fmt="cot", mode="cot", batch_size=2,
                                   max_new_tokens=6, progress=False)
    assert det["mode"] == "cot" and len(det["traces"]) == 2
    assert det["forced_close"] == 2  # a random model never writes </think> within 6 tokens
    assert all(t.endswith("</think>") for t in det["traces"])
    # the scores are those of the labels after prompt + trace + "\n"
    ctx = tok.encode(render_prompt(tok, FH, HEADS[0], "cot"), add_special_tokens=False)
    ctx = ctx + tok.encode(det["traces"][0] + "\n", add_special_tokens=False)
    cands = label_token_ids(tok, FH)[:3]
    np.testing.assert_allclose(lp[0, :3], score_naive(model, ctx, cands), atol=1e-4, rtol=0)


def test_evaluate_indomain_record_and_limit():
    model, tok = make_tiny_model("qwen2")
    res = evaluate_indomain(model, tok, _split(6), FH, limit=4, seed=1, batch_size=4, progress=False)
    assert res["n"] == 4 and res["n_split"] == 6
    for k in ("accuracy", "macro_f1", "macro_f1_coarse", "nll", "brier", "ece"):
        assert np.isfinite(res[k])
    assert 0 <= res["brier"] <= 2 and res["nll"] > 0
    assert len(res["per_class"]) == len(LABELS) and len(res["confusion"]) == len(LABELS)
    assert sum(map(sum, res["confusion"])) == 4
    assert res["settings"]["mode"] == "label" and res["settings"]["limit"] == 4
    again = evaluate_indomain(model, tok, _split(6), FH, limit=4, seed=1, batch_size=1, progress=False)
    assert again["examples"]["id"] == res["examples"]["id"]
    np.testing.assert_allclose(again["examples"]["p_gold"], res["examples"]["p_gold"], atol=1e-5)


def test_empty_split_is_an_error():
    model, tok = make_tiny_model("llama")
    with pytest.raises(SplitError, match="empty"):
        evaluate_indomain(model, tok, _split(0), FH, progress=False)


def test_unknown_label_names_row_and_id(tmp_path):
    df = _split(3)
    df.loc[1, "label"] = "bankruptcy of the moon"
    path = tmp_path / "test.parquet"
    df.to_parquet(path)
    # the data stage's loader (when present) or our own check: either names file, row and field
    with pytest.raises(ValueError, match=r"test.parquet: row 1.*'label'.*unknown label 'bankruptcy of the moon'"):
        read_split(tmp_path, FH)
    with pytest.raises(SplitError, match=r"split: row 1 \(id h1\) field 'label': unknown label"):
        evaluate_indomain(*make_tiny_model("llama"), df, FH, progress=False)
    with pytest.raises(SplitError, match="missing column"):
        evaluate_indomain(*make_tiny_model("llama"), df.drop(columns=["label"]), FH, progress=False)
    with pytest.raises(ValueError, match="nope.parquet"):
        read_split(tmp_path / "nope.parquet", FH)


def _word_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {"[UNK]": 0, "<|im_end|>": 1, "Acme": 2, "beats": 3}
    t = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]", eos_token="<|im_end|>",
                                   pad_token="[UNK]")


def test_tokenizer_that_cannot_encode_a_label():
    with pytest.raises(LabelEncodingError, match="unknown token"):
        label_token_ids(_word_tokenizer(), FH)


def test_bad_mode_and_headlines():
    model, tok = make_tiny_model("llama")
    with pytest.raises(ValueError, match="scoring mode"):
        score_labels(model, tok, FH, HEADS, mode="vibes", progress=False)
    with pytest.raises(ValueError, match="input 1 \\('headline'\\) is empty"):
        score_labels(model, tok, FH, ["ok", "  "], progress=False)
