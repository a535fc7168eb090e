"""Parity with lm-evaluation-harness on the real SmolLM2-135M-Instruct (slow; needs lm-eval).

Same 50 subject-stratified MMLU questions, same model object, same batch size: every per-choice
log-likelihood within 1e-4 of lm-eval's HFLM, identical accuracies, in both scorings."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scoring", ["cloze", "letter"])
def test_mmlu_matches_lm_eval(smollm2, scoring):
    pytest.importorskip("lm_eval")
    from taskdistill.evaluate.general import load_items, render, score_items, stratified_sample
    from taskdistill.evaluate.reference import compare, lmeval_mmlu

    model, tok = smollm2
    items = stratified_sample(load_items()[0], 50, 0)
    ours = score_items(model, tok, items, scoring=scoring, batch_size=8, progress=False)
    ref = lmeval_mmlu(model, tok, items, scoring=scoring, batch_size=8)
    assert [render(it, scoring)[0] for it in items] == ref["contexts"]
    cmp = compare(ours, ref["loglik"], tol=1e-4)
    assert cmp["within_tol"], cmp
    gold = np.array([it.answer for it in items])
    acc = float(np.mean([np.argmax(ll) == g for ll, g in zip(ours, gold, strict=True)]))
    assert acc == pytest.approx(ref["acc"], abs=1e-12)
    if scoring == "cloze":
        lens = [np.array([len(c) for c in it.choices], dtype=float) for it in items]
        acc_norm = float(np.mean([np.argmax(ll / ln) == g for ll, ln, g in zip(ours, lens, gold, strict=True)]))
        assert acc_norm == pytest.approx(ref["acc_norm"], abs=1e-12)


def test_label_scores_equal_naive_on_smollm2(smollm2):
    from taskdistill.evaluate.indomain import label_token_ids, score_label_logprobs
    from taskdistill.evaluate.scoring import score_naive
    from taskdistill.task import load_task
    from taskdistill.task.prompts import render_prompt

    fh = load_task("finheadlines")

    model, tok = smollm2
    head = "Moody's downgrades Initech to Ba2 on rising leverage"
    lp, _ = score_label_logprobs(model, tok, fh, [head, "Acme beats estimates"], batch_size=2, progress=False)
    ctx = tok.encode(render_prompt(tok, fh, head, "label"), add_special_tokens=False)
    np.testing.assert_allclose(lp[0], score_naive(model, ctx, label_token_ids(tok, fh)), atol=1e-4, rtol=0)
