"""A dataset folder names its task: ``task.yaml`` beside the split files.

``write_task_yaml`` stores the full task definition (so the folder is self-describing and can be
used on a machine that lacks the original task file); ``folder_task`` reads it back and checks it
against a task given on the command line.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from taskdistill.cache import atomic_write_text
from taskdistill.task import Task, TaskError, load_task

TASK_FILE = "task.yaml"


def task_yaml(task: Task) -> str:
    """The task as YAML; loading it gives a task with the same ``hash``."""
    body = yaml.safe_dump(task.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=120)
    return f"# Task {task.name} (hash {task.hash}): the labels this dataset is annotated with.\n{body}"


def write_task_yaml(task: Task, path: str | Path) -> Path:
    return atomic_write_text(path, task_yaml(task))


def folder_task(folder: str | Path, task: Task | str | Path | None = None) -> Task:
    """The task of a dataset folder: its ``task.yaml`` when present, else ``task``.

    When both exist they must be the same task (same hash): scoring data with another label set
    than the one it was written for would be silently wrong."""
    folder = Path(folder)
    stored = folder / TASK_FILE
    given = load_task(task) if task is not None else None
    if not stored.is_file():
        if given is None:
            raise TaskError(f"{folder}: no {TASK_FILE}; say which task the data is for (--task NAME|FILE)")
        return given
    found = load_task(stored)
    if given is not None and given.hash != found.hash:
        raise TaskError(f"{stored}: dataset is labelled for task {found.name!r} (hash {found.hash}), not for "
                        f"{given.name!r} (hash {given.hash}); pass --task {stored} or the matching task")
    return found
