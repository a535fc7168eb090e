"""The reproduction study's preset: the grid the findings need, within its 12-hour CPU budget."""

from __future__ import annotations

from taskdistill.sweep.plan import plan_sweep
from taskdistill.sweep.spec import load_spec, preset_path


def test_study_grid_covers_every_finding_within_twelve_hours():
    spec = load_spec(preset_path("study"))
    g = spec.grid
    # F1/F2: the paper's iterative chain, 3 seed-chains, label logit KD
    assert g.target == [0.79, 0.58, 0.37, 0.16] and len(g.seed) == 3
    assert "logit" in g.method and "label" in g.supervision
    # F3 on the same chains; F4: one-shot beside iterative
    assert "blended" in g.supervision and set(g.schedule) == {"iterative", "oneshot"}
    # data-size law: >= 3 sizes, consecutive sizes a factor >= 4 apart, the largest in 1-2.5k rows
    d = g.dataset_size
    assert len(d) >= 3 and all(b >= 4 * a for a, b in zip(d, d[1:], strict=False)) and 1000 <= d[-1] <= 2500
    # the budget is epochs over D (not a fixed step count that would confound the data axis)
    assert spec.budget_unit == "epochs"
    # the same fixed MMLU question set for every model, and the longer teacher preparation
    assert isinstance(spec.eval.mmlu_n, int) and spec.eval.mmlu_n >= 100
    assert spec.teacher.prepare.train.steps == 300
    plan = plan_sweep(spec)
    assert plan.total_seconds <= 12 * 3600, f"{plan.total_seconds / 3600:.1f} h"
