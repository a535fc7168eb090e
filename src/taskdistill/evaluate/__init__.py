"""Evaluate stage: in-domain classification, MMLU general knowledge, efficiency, one JSON record.

Modules (imported on demand so ``taskdistill --help`` stays fast):
- ``scoring``: exact log-likelihood of many continuations per context in one forward (token trie +
  4-D attention mask; the context's keys/values are shared).
- ``indomain``: ``score_labels`` (probabilities over a task's labels), ``evaluate_indomain`` (with
  transfer evaluation onto a task derived from the model's).
- ``metrics``: accuracy, macro-F1 (fine and coarse), gold NLL, Brier, ECE, confusion.
- ``general``: MMLU / MMLU-Pro loaders, lm-eval-compatible letter and cloze scoring, ``evaluate_mmlu``.
- ``efficiency``: parameters, size on disk, headlines/s, batch-1 latency.
- ``record``: ``evaluate_model`` -> one JSON-able record; ``flatten_record`` for the results store.
- ``reference``: lm-evaluation-harness on the same items (parity checks; dev dependency).
See docs/evaluation.md.
"""
