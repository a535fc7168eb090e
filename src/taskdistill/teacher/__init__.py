"""Teacher stage: prepare ("correct") the teacher on the task, then annotate datasets with it once
(labels + probabilities, checked CoT traces, top-k logit caches) so students train without it.

Heavy modules (torch, transformers, the distill and evaluate stages) are imported inside functions; the
configs are imported on first use, so the command line starts without importing pydantic.
"""

from __future__ import annotations

import importlib

__all__ = ["GenerationConfig", "TeacherConfig"]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module 'taskdistill.teacher' has no attribute {name!r}")
    value = getattr(importlib.import_module("taskdistill.teacher.config"), name)
    globals()[name] = value
    return value
