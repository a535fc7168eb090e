"""Teacher stage: prepare ("correct") the teacher on the task, then annotate datasets with it once
(labels + probabilities, checked CoT traces, top-k logit caches) so students train without it.

Heavy modules (torch, transformers, the distill and evaluate stages) are imported inside functions.
"""

from taskdistill.teacher.config import GenerationConfig, TeacherConfig

__all__ = ["GenerationConfig", "TeacherConfig"]
