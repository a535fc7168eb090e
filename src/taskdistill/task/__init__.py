"""The task: what is classified, into which labels, and how a model is asked and answers.

Every stage receives a ``Task`` explicitly; nothing reads a global label set. Built-in tasks ship as
package data (``builtin/*.yaml``); a user's own task is a YAML file (``taskdistill task init``).
This package sits below every stage and imports none of them. Names are imported on first use, so the
command line starts without importing pydantic.
"""

from __future__ import annotations

from taskdistill.lazy import lazy_names

DEFAULT_TASK = "finheadlines"

_WHERE = {name: "model" for name in ("BUILTIN", "FORMATS", "LabelSpec", "Task", "TaskError", "derive_labels",
                                     "init_yaml", "load_task")}

__all__ = sorted([*_WHERE, "DEFAULT_TASK"])


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
