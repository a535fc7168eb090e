"""Which result columns the scaling laws fit, and how each is turned into a non-negative "distance".

Every law in :mod:`taskdistill.scaling.laws` predicts one quantity, the **distance to ideal**
``L = |ideal - y|`` of a metric ``y``: ``1 - macro-F1``, ``1 - accuracy``, NLL itself, the Brier score itself,
``-gold_ll_per_char``. ``L`` is positive, shrinks with more data and grows with compression for every
metric, so one family of forms (and one residual definition, ``log L``) serves all of them, and a
"higher is better" metric needs no special case in the fitting code.

Chance levels (what a model that ignores its input scores) anchor the collapse point and the knee form:

- in-domain accuracy and macro-F1: ``1/35``. A uniform-random guesser over 35 balanced classes has expected
  accuracy and per-class F1 ``1/35`` (the majority-class predictor scores lower on macro-F1, ``~2/35/35``),
  so ``1/35`` is the conventional, slightly generous floor. Coarse macro-F1 (13 categories): ``1/13``.
- NLL of the gold label: ``ln 35`` (the uniform distribution over 35 classes).
- Brier (multi-class, summed over the 35 classes): ``1 - 1/35`` (the uniform distribution).
- MMLU accuracy: ``0.25`` (four options).
- MMLU gold-answer log-likelihood per character has no natural chance level: its knee form fits the floor
  as a free parameter, and it gets no collapse point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

N_CLASSES = 35
N_COARSE = 13


@dataclass(frozen=True)
class MetricSpec:
    """How one metric column is read: direction, best possible value, chance level, display name."""

    column: str
    label: str
    higher_better: bool
    ideal: float
    chance: float | None
    domain: str  # "in-domain" or "general": used to phrase the collapse comparison

    def distance(self, y):
        """Distance to ideal ``L`` (>= 0 for valid values) of metric values ``y``."""
        y = np.asarray(y, dtype=float)
        return (self.ideal - y) if self.higher_better else (y - self.ideal)

    def from_distance(self, L):
        """Inverse of :meth:`distance`."""
        L = np.asarray(L, dtype=float)
        return (self.ideal - L) if self.higher_better else (self.ideal + L)

    @property
    def chance_distance(self) -> float | None:
        return None if self.chance is None else float(self.distance(self.chance))


METRICS: dict[str, MetricSpec] = {
    m.column: m
    for m in (
        MetricSpec("indomain.macro_f1", "in-domain macro-F1", True, 1.0, 1.0 / N_CLASSES, "in-domain"),
        MetricSpec("indomain.accuracy", "in-domain accuracy", True, 1.0, 1.0 / N_CLASSES, "in-domain"),
        MetricSpec("indomain.macro_f1_coarse", "in-domain macro-F1 (13 categories)", True, 1.0,
                   1.0 / N_COARSE, "in-domain"),
        MetricSpec("indomain.nll", "in-domain gold NLL", False, 0.0, math.log(N_CLASSES), "in-domain"),
        MetricSpec("indomain.brier", "in-domain Brier", False, 0.0, 1.0 - 1.0 / N_CLASSES, "in-domain"),
        MetricSpec("mmlu.acc", "MMLU accuracy", True, 1.0, 0.25, "general"),
        MetricSpec("mmlu.gold_ll_per_char", "MMLU gold log-lik / char", True, 0.0, None, "general"),
    )
}

# What `fit` fits unless told otherwise (accuracy and coarse F1 are close cousins of macro-F1).
DEFAULT_METRICS = ("indomain.macro_f1", "indomain.nll", "indomain.brier", "mmlu.acc", "mmlu.gold_ll_per_char")


def metric_spec(column: str) -> MetricSpec:
    try:
        return METRICS[column]
    except KeyError:
        raise KeyError(f"unknown metric column {column!r}; known: {', '.join(METRICS)}") from None
