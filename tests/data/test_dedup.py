"""Dedup: normalised keys, the cosine threshold semantics, within-batch greedy, clustered search."""

from __future__ import annotations

import numpy as np
import pytest

from taskdistill.data.splits import max_cross_similarity
from taskdistill.data.synth.dedup import ExactDeduper, SemanticIndex, normalize


def _unit(x):
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _at_cos(base: np.ndarray, cos: float, rng) -> np.ndarray:
    """A unit vector with exactly ``cos`` similarity to unit ``base``."""
    r = rng.normal(size=base.shape)
    r -= (r @ base) * base
    r /= np.linalg.norm(r)
    return (cos * base + np.sqrt(1 - cos**2) * r).astype(np.float32)


def test_normalize_and_exact():
    assert normalize("Apple  Upgraded at GOLDMAN, sees $200!") == normalize("apple upgraded at goldman sees $200")
    assert normalize("Q3 EPS $1.26") != normalize("Q3 EPS $1.29")
    ex = ExactDeduper()
    assert ex.add("Boeing to cut jobs") and not ex.add("BOEING to cut jobs.") and len(ex) == 1


@pytest.mark.parametrize("mode", ["exact", "clustered"])
def test_threshold_089_kept_091_dropped(mode):
    rng = np.random.default_rng(0)
    base = _unit(rng.normal(size=384))
    idx = SemanticIndex(threshold=0.9, mode=mode, n_clusters=4, train_size=8, n_probe=4)
    filler = _unit(rng.normal(size=(8, 384)))  # trains the clustered index
    assert idx.add_batch(filler).all()
    assert idx.add_batch(base[None]).tolist() == [True]
    near, far = _at_cos(base, 0.91, rng), _at_cos(base, 0.89, rng)
    assert abs(float(near @ base) - 0.91) < 1e-5 and abs(float(far @ base) - 0.89) < 1e-5
    keep = idx.add_batch(np.stack([near, far]))
    assert keep.tolist() == [False, True]  # 0.91 >= 0.9 dropped, 0.89 kept
    assert len(idx) == 10
    exact_hit = idx.add_batch(base[None])
    assert exact_hit.tolist() == [False]  # cosine 1.0


def test_within_batch_greedy_uses_only_kept_rows():
    e = np.linalg.qr(np.random.default_rng(1).normal(size=(384, 2)))[0].T.astype(np.float32)

    def at(deg):  # unit vector at ``deg`` degrees from e[0] in the e[0]-e[1] plane
        return (np.cos(np.radians(deg)) * e[0] + np.sin(np.radians(deg)) * e[1]).astype(np.float32)

    a, b, c = at(0), at(18), at(35)  # cos(a,b)=0.951 dup; cos(b,c)=0.956 dup of b only; cos(a,c)=0.819
    assert b @ a >= 0.9 and c @ b >= 0.9 and c @ a < 0.9
    idx = SemanticIndex(threshold=0.9, query_block=2)  # crosses a query-block border too
    keep = idx.add_batch(np.stack([a, b, c]))
    assert keep.tolist() == [True, False, True]


def test_blocked_search_equals_full_matrix():
    rng = np.random.default_rng(2)
    x = _unit(rng.normal(size=(700, 16)))
    q = _unit(rng.normal(size=(130, 16)))
    idx = SemanticIndex(dim=16, threshold=1.0, corpus_block=64, query_block=50, chunk=128)
    idx._append(x)
    np.testing.assert_allclose(idx.max_sim(q), (q @ x.T).max(axis=1), rtol=1e-6)
    assert max_cross_similarity(q, x) == pytest.approx(float((q @ x.T).max()), rel=1e-6)


def test_clustered_finds_clustered_duplicates_and_round_trips():
    rng = np.random.default_rng(3)
    centers = _unit(rng.normal(size=(40, 64)))
    x = _unit(centers[rng.integers(0, 40, 3000)] + rng.normal(size=(3000, 64)) * 0.02)
    ex = SemanticIndex(dim=64, threshold=0.9)
    cl = SemanticIndex(dim=64, threshold=0.9, mode="clustered", n_clusters=8, n_probe=3, train_size=30)
    k1 = np.concatenate([ex.add_batch(x[s:s + 400]) for s in range(0, 3000, 400)])
    k2 = np.concatenate([cl.add_batch(x[s:s + 400]) for s in range(0, 3000, 400)])
    assert cl.trained and (k1 == k2).mean() > 0.99
    v = cl.vectors()
    assert np.allclose(v, x[k2])  # insertion order preserved through the buckets
    # state round trip gives the same decisions on new data
    new = _unit(centers[rng.integers(0, 40, 300)] + rng.normal(size=(300, 64)) * 0.05)
    st = cl.state()
    back = SemanticIndex(dim=64, threshold=0.9, mode="clustered", n_clusters=8, n_probe=3, train_size=30)
    back.load_state(st["vectors"], st["centroids"])
    assert np.array_equal(back.add_batch(new), cl.add_batch(new))


def test_bad_settings():
    with pytest.raises(ValueError, match="unknown dedup mode"):
        SemanticIndex(mode="lsh")
    with pytest.raises(ValueError, match="threshold"):
        SemanticIndex(threshold=1.5)
