"""Stratified, seeded, leak-free train / validation / test splits.

- The test set has a fixed size per class (``test_per_class``): every model in a sweep is scored on
  the same items, and macro-F1 weighs each class equally, so equal counts give each class the same
  statistical precision. Validation likewise (``val_per_class``); train takes the rest.
- Deterministic: rows are ordered by a hash of (seed, id), never by the file order.
- Leak-free: a train row whose cosine with any validation/test row is ``>= threshold`` is removed
  from train (counted in the returned info). A corpus from the pipeline is already globally deduped
  at the same threshold, so nothing is removed there; external data (the loader) may need it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from taskdistill.data.synth.dedup import SemanticIndex
from taskdistill.data.taxonomy import LABELS


def _order_key(seed: int, ident: str) -> str:
    return hashlib.sha256(f"{seed}:{ident}".encode()).hexdigest()


def make_splits(df: pd.DataFrame, emb: np.ndarray | None, test_per_class: int, val_per_class: int, seed: int = 0,
                threshold: float = 0.9) -> tuple[dict[str, pd.DataFrame], dict]:
    """Split ``df`` (rows aligned with ``emb``) into {'train','validation','test'} and a report."""
    short = {lab: int(n) for lab, n in df["label"].value_counts().items() if n < test_per_class + val_per_class + 1}
    missing = [lab for lab in LABELS if lab not in set(df["label"])]
    if missing or short:
        raise ValueError(f"cannot split: classes {missing} are missing and {short} have fewer than "
                         f"{test_per_class + val_per_class + 1} rows (test {test_per_class} + val {val_per_class} + 1 train)")
    df = df.reset_index(drop=True)
    key = df["id"].map(lambda i: _order_key(seed, str(i)))
    part = np.full(len(df), "train", dtype=object)
    for lab in LABELS:
        idx = df.index[df["label"] == lab].to_numpy()
        idx = idx[np.argsort(key.iloc[idx].to_numpy(), kind="stable")]
        part[idx[:test_per_class]] = "test"
        part[idx[test_per_class:test_per_class + val_per_class]] = "validation"
    removed = 0
    if emb is not None:
        if len(emb) != len(df):
            raise ValueError(f"{len(emb)} embeddings for {len(df)} rows")
        held = np.nonzero(part != "train")[0]
        index = SemanticIndex(dim=emb.shape[1], threshold=threshold)
        index._append(np.ascontiguousarray(emb[held], dtype=np.float32))
        tr = np.nonzero(part == "train")[0]
        leak = index.max_sim(emb[tr]) >= threshold
        part[tr[leak]] = "leak"
        removed = int(leak.sum())
    out = {}
    for name in ("train", "validation", "test"):
        sub = df[part == name]
        sub = sub.iloc[np.argsort(key[part == name].to_numpy(), kind="stable")].reset_index(drop=True)
        out[name] = sub
    info = dict(seed=seed, threshold=threshold, test_per_class=test_per_class, val_per_class=val_per_class,
                leak_removed_from_train=removed, sizes={k: len(v) for k, v in out.items()})
    return out, info


def max_cross_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Highest cosine between any row of ``a`` and any row of ``b`` (blocked; for leak checks)."""
    index = SemanticIndex(dim=a.shape[1], threshold=1.0)
    index._append(np.ascontiguousarray(b, dtype=np.float32))
    return float(index.max_sim(a).max()) if len(a) else -1.0
