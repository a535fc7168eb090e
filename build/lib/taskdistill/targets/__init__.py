"""Training targets, shared by the teacher and distill stages (below both; imports neither).

Modules (import them directly; this package imports nothing heavy):

- ``examples``: tokenised training examples of a task (prompt + target, the supervised positions
  tagged ``trace``/``answer``): ``Example``, ``build_examples(tokenizer, task, df, ...)``.
- ``batching``: padding examples into batches; running a causal LM for logits at the supervised
  positions only.
- ``cache``: the teacher's top-k log-prob cache (format, ``write_topk_cache``, ``TopKCache``,
  ``MixedCache``).
- ``annotations``: the read side of a ``teacher annotate`` folder (``load_annotations``,
  ``Annotations.training_set``).
- ``record``: the task an output was made for (``task.yaml`` beside it) and the check a consumer runs.
"""

from taskdistill.targets.annotations import AnnotationError, Annotations, load_annotations

__all__ = ["AnnotationError", "Annotations", "load_annotations"]
