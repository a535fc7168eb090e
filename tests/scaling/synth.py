"""Small synthetic results tables and their fits, computed once per test session (fits cost seconds)."""

from __future__ import annotations

import functools

from taskdistill.scaling import FitSettings, fit_table
from taskdistill.scaling.simulate import synthetic_results

SMALL_GROUPS = ({"supervision": "label", "method": "logit", "schedule": "iterative"},
                {"supervision": "blended", "method": "logit", "schedule": "oneshot"})
FAST = FitSettings(n_boot=15, n_starts=5, cv_folds=4, boot_starts=2, cv_starts=2,
                   metrics=("indomain.macro_f1", "indomain.nll", "mmlu.text_gain_frac", "mmlu.acc"))


@functools.cache
def small_results(seed: int = 3):
    """2 groups x 3 data sizes x 4 ratios x 3 seed-chains, a teacher row and one failed row."""
    return synthetic_results(groups=SMALL_GROUPS, dataset_sizes=(6_000, 25_000, 100_000), seeds=(0, 1, 2),
                             seed=seed)


@functools.cache
def small_fits():
    return fit_table(small_results().copy(), FAST)


@functools.cache
def quickstart_results():
    """What the quickstart sweep produces: 1 data size, 2 targets, 2 supervisions, 1 seed, + teacher."""
    return synthetic_results(groups=SMALL_GROUPS[:2], dataset_sizes=(2_000,), targets=(0.79, 0.58), seeds=(0,),
                             seed=5, failed=0)
