"""The trie/4-D-mask scorer must equal one plain forward per candidate."""

from __future__ import annotations

import numpy as np
import pytest

from taskdistill.evaluate.scoring import _Trie, score_naive, score_trees


def _enc(tok, s):
    return tok.encode(s, add_special_tokens=False)


def test_trie_equals_naive(tiny):
    model, tok = tiny
    contexts = [_enc(tok, "The quick fox"), _enc(tok, "hi")]
    cands = [_enc(tok, s) for s in ("[[ab]]", "[[ac]]", "[[ab]]z", "q")]  # shared prefixes, nesting
    got = score_trees(model, contexts, [cands] * 2, batch_size=1)
    for ctx, g in zip(contexts, got, strict=True):
        np.testing.assert_allclose(g, score_naive(model, ctx, cands), atol=1e-4, rtol=0)


def test_different_candidates_per_context_and_order(tiny):
    model, tok = tiny
    contexts = [_enc(tok, "a b c"), _enc(tok, "a longer context")]
    cands = [[_enc(tok, " one"), _enc(tok, " two")], [_enc(tok, " x"), _enc(tok, " yy"), _enc(tok, " zzz")]]
    got = score_trees(model, contexts, cands, batch_size=8)
    assert [len(g) for g in got] == [2, 3]
    for ctx, c, g in zip(contexts, cands, got, strict=True):
        np.testing.assert_allclose(g, score_naive(model, ctx, c), atol=1e-4, rtol=0)


def test_independent_of_tokenizer_padding_side(tiny):
    model, tok = tiny
    contexts = [_enc(tok, "short"), _enc(tok, "a rather longer context")]
    cands = [[_enc(tok, " A"), _enc(tok, " B")]] * 2
    tok.padding_side = "right"
    right = score_trees(model, contexts, cands)
    tok.padding_side = "left"
    left = score_trees(model, contexts, cands)
    for a, b in zip(left, right, strict=True):
        np.testing.assert_array_equal(a, b)


def test_trie_shares_prefixes_and_skips_leaves():
    trie = _Trie.build([[1, 2, 3], [1, 2, 4], [1, 5], [1, 2]])
    assert len(trie.nodes) == 5  # 1, 1-2, 1-2-3, 1-2-4, 1-5
    assert trie.inner == [0, 1]  # only nodes with children are fed in
    assert trie.paths[3] == [0, 1]


def test_bad_inputs(tiny):
    model, tok = tiny
    with pytest.raises(ValueError, match="empty continuation"):
        score_trees(model, [[1, 2]], [[[]]])
    with pytest.raises(ValueError, match="context 0 is empty"):
        score_trees(model, [[]], [[[1]]])
    with pytest.raises(ValueError, match="candidate lists"):
        score_trees(model, [[1]], [])
