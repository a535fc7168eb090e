"""The task: what is classified, into which labels, and how a model is asked and answers.

Every stage receives a ``Task`` explicitly; nothing reads a global label set. Built-in tasks ship as
package data (``builtin/*.yaml``); a user's own task is a YAML file (``taskdistill task init``).
This package sits below every stage and imports none of them.
"""

from taskdistill.task.model import (
    BUILTIN,
    FORMATS,
    LabelSpec,
    Task,
    TaskError,
    derive_labels,
    init_yaml,
    load_task,
)

DEFAULT_TASK = "finheadlines"

__all__ = ["BUILTIN", "DEFAULT_TASK", "FORMATS", "LabelSpec", "Task", "TaskError", "derive_labels", "init_yaml",
           "load_task"]
