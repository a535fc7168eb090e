"""Classification metrics on a full probability vector per example.

Pure numpy functions of ``(y_true, probs)``: ``y_true`` is an int array of class ids, ``probs`` an
``[N, K]`` array whose rows are distributions over the K classes. Scoring gives every model a full
vector over the 35 labels (not just an argmax), so the same inputs feed the hard metrics (accuracy,
macro-F1) and the proper scoring rules (gold NLL, Brier) the paper reports, plus calibration (ECE).

Conventions (stated because libraries differ):
- ``macro_f1`` averages per-class F1 over the classes that occur in ``y_true`` or in the
  predictions (scikit-learn's default ``labels=None``); a class absent from both has no F1 and is
  skipped rather than counted as 0. A class predicted but never true counts as F1 = 0.
- ``nll`` is the mean of ``-log p(gold)``; probabilities are clipped at the smallest positive
  float64 so a hard zero gives a large finite number (~708), not ``inf``.
- ``brier`` is the multi-class Brier score ``mean_i sum_k (p_ik - 1[k = y_i])^2`` (range 0..2).
- ``ece`` uses 15 equal-width bins of top-1 confidence (the Guo et al. 2017 convention).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _check(y_true, probs) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be a 2-D [N, K] array, got shape {p.shape}")
    if y.ndim != 1 or len(y) != len(p):
        raise ValueError(f"y_true must be 1-D with one entry per row of probs ({len(p)}), got shape {y.shape}")
    if len(y) == 0:
        raise ValueError("no examples: y_true and probs are empty")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y_true must hold integer class ids, got dtype {y.dtype}")
    k = p.shape[1]
    bad = np.flatnonzero((y < 0) | (y >= k))
    if len(bad):
        raise ValueError(f"y_true[{bad[0]}] = {y[bad[0]]} is not a class id in 0..{k - 1}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probs must be finite and non-negative")
    sums = p.sum(1)
    off = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if len(off):
        raise ValueError(f"probs row {off[0]} sums to {sums[off[0]]:.6f}, not 1")
    return y.astype(np.int64), p


def predictions(probs) -> np.ndarray:
    """Argmax class per row (ties go to the lowest class id)."""
    return np.asarray(probs).argmax(1)


def accuracy(y_true, probs) -> float:
    y, p = _check(y_true, probs)
    return float(np.mean(p.argmax(1) == y))


def per_class_prf(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from hard predictions (0 where undefined)."""
    cm = confusion_from_pred(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    pred_n = cm.sum(0).astype(np.float64)
    true_n = cm.sum(1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(pred_n > 0, tp / pred_n, 0.0)
        recall = np.where(true_n > 0, tp / true_n, 0.0)
        f1 = np.where(pred_n + true_n > 0, 2 * tp / (pred_n + true_n), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": true_n.astype(np.int64),
            "predicted": pred_n.astype(np.int64)}


def _macro_f1_hard(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    prf = per_class_prf(y_true, y_pred, n_classes)
    present = (prf["support"] > 0) | (prf["predicted"] > 0)
    return float(prf["f1"][present].mean())


def macro_f1(y_true, probs, *, groups: Sequence[int] | None = None) -> float:
    """Macro-F1 of the argmax predictions. With ``groups`` (class id -> group id, e.g. the 13
    coarse categories), true and predicted classes are first mapped to their groups, so the score
    credits a prediction in the right category even when the fine class is wrong."""
    y, p = _check(y_true, probs)
    pred = p.argmax(1)
    if groups is None:
        return _macro_f1_hard(y, pred, p.shape[1])
    g = np.asarray(groups)
    if len(g) != p.shape[1]:
        raise ValueError(f"groups maps {len(g)} classes, probs has {p.shape[1]}")
    return _macro_f1_hard(g[y], g[pred], int(g.max()) + 1)


def nll(y_true, probs) -> float:
    """Mean negative log-probability of the gold class."""
    y, p = _check(y_true, probs)
    gold = np.clip(p[np.arange(len(y)), y], np.finfo(np.float64).tiny, 1.0)
    return float(-np.mean(np.log(gold)))


def brier(y_true, probs) -> float:
    """Multi-class Brier score: mean squared distance to the one-hot gold vector (0 best, 2 worst)."""
    y, p = _check(y_true, probs)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def ece(y_true, probs, *, n_bins: int = 15) -> float:
    """Expected calibration error of the top-1 confidence, equal-width bins on (0, 1]."""
    y, p = _check(y_true, probs)
    conf = p.max(1)
    correct = (p.argmax(1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(total)


def confusion_from_pred(y_true, y_pred, n_classes: int) -> np.ndarray:
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def confusion(y_true, probs) -> np.ndarray:
    """``[K, K]`` counts: row = true class, column = predicted class."""
    y, p = _check(y_true, probs)
    return confusion_from_pred(y, p.argmax(1), p.shape[1])


METRICS: dict[str, Callable[..., float]] = {
    "accuracy": accuracy,
    "macro_f1": macro_f1,
    "nll": nll,
    "brier": brier,
    "ece": ece,
}


def binomial_stderr(k: float, n: int) -> float:
    """Standard error of a mean of ``n`` 0/1 outcomes with ``k`` successes, ``sqrt(p(1-p)/(n-1))``:
    the sample standard error lm-evaluation-harness reports for accuracy."""
    if n <= 1:
        return float("nan")
    p = k / n
    return float(np.sqrt(p * (1 - p) / (n - 1)))
