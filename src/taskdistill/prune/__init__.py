"""Structural pruning (depth + width) of a teacher into students at exact parameter targets.

``prune_model`` = ``compute_importance`` (activation or magnitude, cached) -> ``plan_shape`` (target
fraction of the teacher -> exact valid shape) -> ``apply_plan`` (physical slicing into a fresh model of
the same class) ; ``save_pruned`` writes a standard HF checkpoint. See docs/pruning.md.
"""

from __future__ import annotations

from taskdistill.lazy import lazy_names

# imported on first use, so the command line starts without importing torch
_WHERE = {
    "Importance": "importance",
    "PlanError": "plan",
    "PrunePlan": "plan",
    "apply_plan": "apply",
    "compute_importance": "importance",
    "load_report": "export",
    "model_hash": "importance",
    "paper_steps": "plan",
    "plan_shape": "plan",
    "prune_model": "step",
    "save_pruned": "export",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
