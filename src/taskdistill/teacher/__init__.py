"""Teacher stage: prepare ("correct") the teacher on the task, then annotate datasets with it once
(labels + probabilities, checked CoT traces, top-k logit caches) so students train without it.

Heavy modules (torch, transformers, the distill and evaluate stages) are imported inside functions; the
configs are imported on first use, so the command line starts without importing pydantic.
"""

from __future__ import annotations

from taskdistill.lazy import lazy_names

__all__ = ["GenerationConfig", "TeacherConfig"]

__getattr__, __dir__ = lazy_names(__name__, {name: "config" for name in __all__})
