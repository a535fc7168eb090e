"""Stratified, seeded, leak-free train / validation / test splits of a task's data.

Two ways to size the held-out sets:

- ``make_splits`` (generated data): a fixed number of rows per class in test (``test_per_class``)
  and validation (``val_per_class``): every model in a sweep is scored on the same items, and
  macro-F1 weighs each class equally, so equal counts give each class the same statistical
  precision. Train takes the rest. A train row whose cosine with any validation/test row is
  ``>= threshold`` is removed from train (counted in the returned info). A corpus from the pipeline
  is already globally deduped at the same threshold, so nothing is removed there.
- ``fraction_splits`` (imported data): a fraction of each class (at least one row per class in each
  held-out split), so class shares stay those of the file.

Both are deterministic (rows are ordered by a hash of (seed, id or text), never by the file order),
check sizes up front (``SplitError`` says which sizes would work), and never let two rows with the
same text (after whitespace/case normalisation) land in different splits.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from taskdistill.data.synth.dedup import SemanticIndex, normalize
from taskdistill.errors import TaskdistillError
from taskdistill.task import Task


class SplitError(TaskdistillError, ValueError):
    """The data cannot be split with the requested sizes; the message says which sizes work."""


def _order_key(seed: int, ident: str) -> str:
    return hashlib.sha256(f"{seed}:{ident}".encode()).hexdigest()


def make_splits(df: pd.DataFrame, emb: np.ndarray | None, task: Task, test_per_class: int, val_per_class: int,
                seed: int = 0, threshold: float = 0.9) -> tuple[dict[str, pd.DataFrame], dict]:
    """Split ``df`` (rows aligned with ``emb``) into {'train','validation','test'} and a report."""
    need = test_per_class + val_per_class + 1
    counts = df["label"].value_counts()
    missing = [lab for lab in task.label_names if lab not in counts.index]
    short = {lab: int(counts[lab]) for lab in task.label_names if lab in counts.index and counts[lab] < need}
    if missing or short:
        smallest = min(short.values()) if short else 0
        fits = (f"with these rows, test_per_class + val_per_class must be at most {smallest - 1}"
                if smallest >= 3 else "every class needs at least 3 rows")
        raise SplitError(f"cannot split: {len(missing)} class(es) have no rows {missing[:5]} and {len(short)} have "
                         f"fewer than {need} rows (test {test_per_class} + validation {val_per_class} + 1 train): "
                         f"{dict(list(short.items())[:5])}; {fits}")
    df = df.reset_index(drop=True)
    key = df["id"].map(lambda i: _order_key(seed, str(i)))
    part = np.full(len(df), "train", dtype=object)
    for lab in task.label_names:
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


def fraction_splits(df: pd.DataFrame, task: Task, val_frac: float = 0.1, test_frac: float = 0.1,
                    seed: int = 0) -> tuple[dict[str, pd.DataFrame], dict]:
    """Stratified split by fractions of each class (at least one row per class per held-out split).

    Rows whose texts are equal after normalisation (case, spacing and punctuation ignored) form
    one group and go to the same split, so no text is in train and in test. Every label of the task
    needs rows: a label without data cannot be evaluated."""
    for name, f in (("--val-frac", val_frac), ("--test-frac", test_frac)):
        if not 0 < f < 1:
            raise SplitError(f"{name} must be between 0 and 1 (exclusive), got {f}")
    if val_frac + test_frac >= 0.9:
        raise SplitError(f"--val-frac {val_frac} + --test-frac {test_frac} leave less than 10% for training; "
                         "use smaller fractions (e.g. 0.1 and 0.2)")
    text = task.input_field
    df = df.reset_index(drop=True)
    group = df[text].map(normalize)
    # a group takes the label of its first row; with conflicts removed upstream all its rows agree
    first = df.groupby(group, sort=False).head(1)
    glab = pd.Series(first["label"].to_numpy(), index=group[first.index].to_numpy())
    counts = glab.value_counts()
    missing = [lab for lab in task.label_names if lab not in counts.index]
    short = {lab: int(counts[lab]) for lab in task.label_names if lab in counts.index and counts[lab] < 3}
    if missing or short:
        raise SplitError(f"cannot split: every label needs at least 3 distinct texts (1 train, 1 validation, "
                         f"1 test); {len(missing)} label(s) have none {missing[:5]}, {len(short)} have fewer "
                         f"{dict(list(short.items())[:5])}. Add rows for them, or remove those labels from the task")
    groups = {lab: sorted(glab.index[glab == lab], key=lambda g: _order_key(seed, g)) for lab in task.label_names}
    where: dict[str, str] = {}
    for gs in groups.values():
        n = len(gs)
        n_test = max(1, int(round(n * test_frac)))
        n_val = max(1, int(round(n * val_frac)))
        if n_test + n_val >= n:  # keep at least one training text per class
            n_val = max(1, n - n_test - 1)
            n_test = n - n_val - 1
        for g in gs[:n_test]:
            where[g] = "test"
        for g in gs[n_test:n_test + n_val]:
            where[g] = "validation"
        for g in gs[n_test + n_val:]:
            where[g] = "train"
    part = group.map(where).to_numpy()
    key = np.array([_order_key(seed, t) for t in df[text]])
    out = {}
    for name in ("train", "validation", "test"):
        m = part == name
        out[name] = df[m].iloc[np.argsort(key[m], kind="stable")].reset_index(drop=True)
    info = dict(seed=seed, val_frac=val_frac, test_frac=test_frac, sizes={k: len(v) for k, v in out.items()})
    return out, info


def max_cross_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Highest cosine between any row of ``a`` and any row of ``b`` (blocked; for leak checks)."""
    index = SemanticIndex(dim=a.shape[1], threshold=1.0)
    index._append(np.ascontiguousarray(b, dtype=np.float32))
    return float(index.max_sim(a).max()) if len(a) else -1.0
