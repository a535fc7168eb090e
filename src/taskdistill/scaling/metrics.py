"""Which result columns the scaling laws fit, and how each is turned into a non-negative "distance".

Every law in :mod:`taskdistill.scaling.laws` predicts one quantity, the **distance to ideal**
``L = |ideal - y|`` of a metric ``y``: ``1 - macro-F1``, ``1 - accuracy``, NLL itself, the Brier score itself,
``1 - gold probability``, ``-gold_ll_per_char``. ``L`` is positive, shrinks with more data and grows with
compression for every metric, so one family of forms (and one residual definition, ``log L``) serves all of
them, and a "higher is better" metric needs no special case in the fitting code.

Chance levels (what a model that ignores its input scores) anchor the collapse point, the knee form and the
floor of the power forms. In-domain chance levels come from the task (:meth:`taskdistill.task.Task.chance`):
a uniform guess over the task's K labels (accuracy and macro-F1 ``1/K``, NLL ``ln K``, Brier ``1 - 1/K``; the
group-level macro-F1 uses the task's groups). General-knowledge levels are fixed by the benchmark: four
options per MMLU question, so accuracy and the renormalised gold probability have chance ``1/4``; the
gold-vs-distractor log-likelihood margin has floor ``0``; the gold log-likelihood per character has no natural
chance level (no collapse point).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from taskdistill.task import Task

MMLU_CHOICES = 4


@dataclass(frozen=True)
class MetricSpec:
    """How one metric column is read: direction, best possible value, chance level, display name.

    ``ideal`` is ``None`` for a metric with no best value (a log-likelihood margin): it is reported and used
    for the teacher's margin but has no law (a distance to ideal needs an ideal).
    """

    column: str
    label: str
    higher_better: bool
    ideal: float | None
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
        return None if self.chance is None or self.ideal is None else float(self.distance(self.chance))

    @property
    def stderr_column(self) -> str:
        return f"{self.column}_stderr"

    def margin(self, value: float) -> float:
        """How far ``value`` is better than chance (NaN when the metric has no chance level)."""
        if self.chance is None:
            return float("nan")
        return (value - self.chance) if self.higher_better else (self.chance - value)


def metric_specs(task: Task | str | None = None) -> dict[str, MetricSpec]:
    """Every metric the laws know, with chance levels from ``task`` (default: the ``finheadlines`` task)."""
    from taskdistill.task import DEFAULT_TASK, load_task

    key = task if isinstance(task, str) else DEFAULT_TASK if task is None else None
    if key is not None and key in _BY_NAME:
        return _BY_NAME[key]
    task = load_task(task if task is not None else DEFAULT_TASK)
    if task.hash in _BY_HASH:
        return _BY_HASH[task.hash]
    lab, grp = task.chance("label"), task.chance("group")
    kg = len(task.group_names) if task.has_groups else task.n_classes
    specs = (
        MetricSpec("indomain.macro_f1", "in-domain macro-F1", True, 1.0, lab["macro_f1"], "in-domain"),
        MetricSpec("indomain.accuracy", "in-domain accuracy", True, 1.0, lab["accuracy"], "in-domain"),
        MetricSpec("indomain.macro_f1_coarse", f"in-domain macro-F1 ({kg} groups)", True, 1.0, grp["macro_f1"],
                   "in-domain"),
        MetricSpec("indomain.nll", "in-domain gold NLL", False, 0.0, lab["nll"], "in-domain"),
        MetricSpec("indomain.brier", "in-domain Brier", False, 0.0, lab["brier"], "in-domain"),
        MetricSpec("mmlu.acc", "MMLU accuracy", True, 1.0, 1.0 / MMLU_CHOICES, "general"),
        MetricSpec("mmlu.gold_prob", "MMLU gold probability", True, 1.0, 1.0 / MMLU_CHOICES, "general"),
        MetricSpec("mmlu.gold_margin", "MMLU gold-vs-distractor log-lik margin", True, None, 0.0, "general"),
        MetricSpec("mmlu.gold_ll_per_char", "MMLU gold log-lik / char", True, 0.0, None, "general"),
        MetricSpec("mmlu.text_gain_frac", "MMLU question-text gain (share of unigram loss)", True, 1.0, 0.0,
                   "general"),
    )
    out = {m.column: m for m in specs}
    _BY_HASH[task.hash] = out
    if key is not None:
        _BY_NAME[key] = out
    return out


_BY_NAME: dict[str, dict[str, MetricSpec]] = {}
_BY_HASH: dict[str, dict[str, MetricSpec]] = {}


# The metric columns the laws know (names only: chance levels depend on the task, see metric_specs).
METRIC_COLUMNS = ("indomain.macro_f1", "indomain.accuracy", "indomain.macro_f1_coarse", "indomain.nll",
                  "indomain.brier", "mmlu.acc", "mmlu.gold_prob", "mmlu.gold_margin", "mmlu.gold_ll_per_char",
                  "mmlu.text_gain_frac")

# The default general-knowledge metric of fits and report: the most sensitive measure with a floor
# (FitSettings.general_metric changes it). The SmolLM2 teacher sits ~75 standard errors above the floor of
# the question-text gain at 1,000 questions, against ~2 on MMLU accuracy (docs/results.md).
DEFAULT_GENERAL = "mmlu.text_gain_frac"

# What `fit` fits unless told otherwise (accuracy and coarse F1 are close cousins of macro-F1).
DEFAULT_METRICS = ("indomain.macro_f1", "indomain.nll", "indomain.brier", "mmlu.text_gain_frac", "mmlu.gold_prob",
                   "mmlu.acc", "mmlu.gold_ll_per_char")


def metric_spec(column: str, task: Task | str | None = None, *, chance: float | None | str = "task") -> MetricSpec:
    """The spec of one metric column; ``chance`` overrides the task's chance level (fits store theirs)."""
    specs = metric_specs(task)
    try:
        spec = specs[column]
    except KeyError:
        raise KeyError(f"unknown metric column {column!r}; known: {', '.join(specs)}") from None
    return spec if chance == "task" else replace(spec, chance=chance)


def __getattr__(name: str):
    if name == "METRICS":  # the finheadlines specs, for callers that predate tasks
        return metric_specs()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

