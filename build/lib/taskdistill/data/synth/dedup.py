"""Deduplication: cheap exact/normalised keys first, then global semantic dedup on unit embeddings.

Semantic dedup compares every new headline with the WHOLE accumulated corpus (the paper's point: a
batch-local dedup lets the same headline in through every iteration). A headline is dropped when its
cosine similarity to any already-kept headline is ``>= threshold`` (0.9 by default), so a pair at
0.89 is kept and a pair at 0.91 dropped.

``SemanticIndex`` keeps the corpus as a growing float32 matrix (``chunk``-sized blocks, so appends
never copy the corpus) and searches it in two modes:

- ``exact`` (blocked exact search): query block x corpus block products, so peak extra memory is
  ``query_block * corpus_block * 4`` bytes whatever the corpus size; exact by construction.
- ``clustered`` (IVF-style, as NeMo Curator partitions with k-means): corpus vectors are bucketed by
  their nearest of ``n_clusters`` centroids (trained once on the first ``train_size`` vectors with
  seeded spherical k-means) and a query is compared only with the buckets of its ``n_probe`` nearest
  centroids. Approximate (a duplicate across a cluster border can be missed) but sublinear.

The index state (vectors, centroids, assignments) round-trips through ``state()``/``from_state`` so the
pipeline checkpoints it and resumes with identical decisions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import numpy as np

_NON_WORD = re.compile(r"[^0-9a-z$%]+")


def normalize(text: str) -> str:
    """Key for exact/normalised dedup: NFKC, case-folded, punctuation and spacing collapsed.

    "UPDATE 1-" prefixes are kept on purpose: removing wire tags is the noise step's business, and a
    tagged copy of a headline is caught by semantic dedup anyway."""
    t = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", t).strip()


class ExactDeduper:
    """Set of normalised keys seen so far; ``add`` says whether a headline is new."""

    def __init__(self, keys: Iterable[str] = ()):
        self.keys: set[str] = set(keys)

    def add(self, text: str) -> bool:
        k = normalize(text)
        if k in self.keys:
            return False
        self.keys.add(k)
        return True

    def __len__(self) -> int:
        return len(self.keys)


def _kmeans(x: np.ndarray, k: int, seed: int, iters: int = 10) -> np.ndarray:
    """Seeded spherical k-means (cosine) on unit rows; returns unit centroids (k, d)."""
    rng = np.random.default_rng(seed)
    k = min(k, len(x))
    cent = x[rng.choice(len(x), size=k, replace=False)].copy()
    for _ in range(iters):
        assign = np.empty(len(x), dtype=np.int64)
        for s in range(0, len(x), 8192):
            assign[s:s + 8192] = np.argmax(x[s:s + 8192] @ cent.T, axis=1)
        sums = np.zeros_like(cent)
        np.add.at(sums, assign, x)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        sums[~empty] /= norms[~empty]
        sums[empty] = cent[empty]  # keep an empty cluster's old centroid
        cent = sums.astype(np.float32)
    return cent


class SemanticIndex:
    """Growing index of kept unit embeddings with threshold search (see module docstring)."""

    def __init__(self, dim: int = 384, threshold: float = 0.9, mode: str = "exact", n_clusters: int = 256,
                 n_probe: int = 4, train_size: int = 20000, seed: int = 0, corpus_block: int = 8192,
                 query_block: int = 1024, chunk: int = 16384):
        if mode not in ("exact", "clustered"):
            raise ValueError(f"unknown dedup mode {mode!r}; choose 'exact' or 'clustered'")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"dedup threshold must be in (0, 1], got {threshold}")
        self.dim, self.threshold, self.mode = dim, threshold, mode
        self.n_clusters, self.n_probe, self.train_size, self.seed = n_clusters, n_probe, train_size, seed
        self.corpus_block, self.query_block, self.chunk = corpus_block, query_block, chunk
        self._chunks: list[np.ndarray] = []  # exact mode (and clustered before training): row-ordered
        self._n = 0
        self.centroids: np.ndarray | None = None
        # clustered mode after training: per cluster, a list of vector arrays and of their row ids
        self._bvec: list[list[np.ndarray]] = []
        self._bids: list[list[np.ndarray]] = []

    # ------------------------------------------------------------------ storage
    def __len__(self) -> int:
        return self._n

    @property
    def trained(self) -> bool:
        return self.centroids is not None

    def vectors(self) -> np.ndarray:
        """All kept vectors in insertion order as one (n, dim) array (a copy)."""
        if not self._n:
            return np.zeros((0, self.dim), np.float32)
        if not self.trained:
            return np.concatenate(self._chunks)[: self._n]
        out = np.empty((self._n, self.dim), np.float32)
        for c in range(len(self._bvec)):
            if self._bvec[c]:
                out[np.concatenate(self._bids[c])] = np.concatenate(self._bvec[c])
        return out

    def nbytes(self) -> int:
        if self.trained:
            return sum(a.nbytes for b in self._bvec for a in b) + self.centroids.nbytes
        return sum(c.nbytes for c in self._chunks)

    def _blocks(self) -> Iterable[np.ndarray]:
        for ci, ch in enumerate(self._chunks):
            filled = min(self.chunk, self._n - ci * self.chunk)
            for s in range(0, filled, self.corpus_block):
                yield ch[s:min(filled, s + self.corpus_block)]

    def _append(self, v: np.ndarray) -> None:
        if self.trained:
            self._append_buckets(v, np.arange(self._n, self._n + len(v)))
            self._n += len(v)
            return
        pos = 0
        while pos < len(v):
            if self._n == len(self._chunks) * self.chunk:
                self._chunks.append(np.empty((self.chunk, self.dim), np.float32))
            ch = self._chunks[-1]
            off = self._n % self.chunk
            take = min(self.chunk - off, len(v) - pos)
            ch[off:off + take] = v[pos:pos + take]
            self._n += take
            pos += take
        if self.mode == "clustered" and self._n >= self.train_size:
            self._train()

    def _append_buckets(self, v: np.ndarray, ids: np.ndarray) -> None:
        assign = np.empty(len(v), dtype=np.int64)
        for s in range(0, len(v), 8192):
            assign[s:s + 8192] = np.argmax(v[s:s + 8192] @ self.centroids.T, axis=1)
        order = np.argsort(assign, kind="stable")
        bounds = np.searchsorted(assign[order], np.arange(len(self.centroids) + 1))
        for c in range(len(self.centroids)):
            sel = order[bounds[c]:bounds[c + 1]]
            if len(sel):
                self._bvec[c].append(v[sel])
                self._bids[c].append(ids[sel])

    def _train(self) -> None:
        allv = self.vectors()
        self.centroids = _kmeans(allv[: self.train_size], self.n_clusters, self.seed)
        self._bvec = [[] for _ in range(len(self.centroids))]
        self._bids = [[] for _ in range(len(self.centroids))]
        self._append_buckets(allv, np.arange(len(allv)))
        self._chunks = []  # vectors now live in their buckets only: memory stays ~1x the corpus

    def _bucket(self, c: int) -> np.ndarray:
        """Cluster ``c``'s vectors as one array (pieces merged lazily, amortised)."""
        if len(self._bvec[c]) > 1:
            self._bvec[c] = [np.concatenate(self._bvec[c])]
            self._bids[c] = [np.concatenate(self._bids[c])]
        return self._bvec[c][0] if self._bvec[c] else np.zeros((0, self.dim), np.float32)

    # ------------------------------------------------------------------ search
    def max_sim(self, q: np.ndarray) -> np.ndarray:
        """For each query row, the highest cosine with any indexed vector (-1 when empty)."""
        q = np.ascontiguousarray(q, dtype=np.float32)
        best = np.full(len(q), -1.0, dtype=np.float32)
        if not self._n or not len(q):
            return best
        if self.trained:
            return self._max_sim_clustered(q)
        for qs in range(0, len(q), self.query_block):
            qb = q[qs:qs + self.query_block]
            b = best[qs:qs + self.query_block]
            for block in self._blocks():
                np.maximum(b, (qb @ block.T).max(axis=1), out=b)
        return best

    def _max_sim_clustered(self, q: np.ndarray) -> np.ndarray:
        best = np.full(len(q), -1.0, dtype=np.float32)
        probe = np.argsort(-(q @ self.centroids.T), axis=1)[:, : self.n_probe]
        for c in np.unique(probe):  # each probed bucket is multiplied once per call
            rows = np.nonzero((probe == c).any(axis=1))[0]
            bucket = self._bucket(int(c))
            for s in range(0, len(bucket), self.corpus_block):
                sims = (q[rows] @ bucket[s:s + self.corpus_block].T).max(axis=1)
                best[rows] = np.maximum(best[rows], sims)
        return best

    def add_batch(self, q: np.ndarray) -> np.ndarray:
        """Keep-mask for a batch, in order: a row is dropped if it is within the threshold of the
        corpus or of an earlier *kept* row of the same batch; kept rows join the index."""
        q = np.ascontiguousarray(q, dtype=np.float32)
        keep = self.max_sim(q) < self.threshold
        idx = np.nonzero(keep)[0]
        kept_rows: list[np.ndarray] = []  # survivors of earlier query blocks
        for s in range(0, len(idx), self.query_block):
            ids = idx[s:s + self.query_block]
            blk = q[ids]
            ok = np.ones(len(blk), dtype=bool)
            if kept_rows:
                prev = np.concatenate(kept_rows)
                ok &= (blk @ prev.T).max(axis=1) < self.threshold
            close = np.tril(blk @ blk.T >= self.threshold, k=-1)
            for j in np.nonzero(close.any(axis=1))[0]:  # only rows with an earlier close neighbour
                if ok[j] and (close[j, :j] & ok[:j]).any():
                    ok[j] = False
            keep[ids[~ok]] = False
            kept_rows.append(blk[ok])
        if keep.any():
            self._append(q[keep])
        return keep

    # ------------------------------------------------------------------ checkpoint
    def state(self) -> dict:
        return dict(vectors=self.vectors(), centroids=self.centroids)

    def load_state(self, vectors: np.ndarray, centroids: np.ndarray | None) -> None:
        """Restore from a checkpoint: same vectors and centroids give the same future decisions."""
        self._chunks, self._n, self._bvec, self._bids, self.centroids = [], 0, [], [], None
        vectors = np.asarray(vectors, np.float32)
        if centroids is not None and len(centroids):
            self.centroids = np.asarray(centroids, np.float32)
            self._bvec = [[] for _ in range(len(self.centroids))]
            self._bids = [[] for _ in range(len(self.centroids))]
        if len(vectors):
            mode = self.mode
            self.mode = "exact"  # refill without retraining
            self._append(vectors)
            self.mode = mode
