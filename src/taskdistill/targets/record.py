"""The task an output was made for, recorded beside it, and the check every consumer runs.

A folder written for a task (a prepared teacher, an annotations folder, a distilled student) holds
``task.yaml``: the exact task definition (so a user's own task travels with the folder), and its
report/meta names the task (``{"name": ..., "hash": ...}``). A consumer handed the folder together
with another task stops with one message naming both, instead of scoring answers in the wrong labels.
"""

from __future__ import annotations

from pathlib import Path

from taskdistill.errors import TaskdistillError
from taskdistill.task import Task, TaskError, load_task

TASK_FILE = "task.yaml"


class TaskMismatchError(TaskdistillError, ValueError):
    """An input recorded for one task, used with another."""


def task_ref(task: Task) -> dict:
    """The short record of a task: ``{"name", "hash"}``."""
    return {"name": task.name, "hash": task.hash}


def task_yaml(task: Task) -> str:
    """The task as YAML; loading it back gives a task with the same hash."""
    import yaml

    return yaml.safe_dump(task.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=1000)


def write_task(folder: str | Path, task: Task) -> Path:
    """Write ``folder/task.yaml`` (atomically)."""
    from taskdistill.cache import atomic_write_text

    return atomic_write_text(Path(folder) / TASK_FILE, task_yaml(task))


def recorded_task(folder: str | Path | None) -> Task | None:
    """The task recorded in ``folder`` (its ``task.yaml``), or None when the folder records none."""
    if folder is None:
        return None
    f = Path(folder) / TASK_FILE
    if not f.is_file():
        return None
    # Read the file itself (not load_task's per-path memo): a folder may be rewritten in place.
    import yaml
    from pydantic import ValidationError

    try:
        return Task.model_validate(yaml.safe_load(f.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise TaskError(f"{f}: not a readable task record ({str(exc).splitlines()[0]})") from None


def check_task(task: Task, recorded: dict | Task | None, what: str) -> None:
    """Fail with one clear line when ``recorded`` (a Task or a ``{"name", "hash"}`` record) is not
    ``task``. ``what`` names the input, e.g. ``"teacher /path"``. Nothing recorded passes."""
    if recorded is None:
        return
    name, h = (recorded.name, recorded.hash) if isinstance(recorded, Task) else (recorded.get("name"),
                                                                                  recorded.get("hash"))
    if h is not None and h != task.hash:
        same = " (same name, other definition)" if name == task.name else ""
        raise TaskMismatchError(f"{what} was made for task {name!r} (hash {h}) but task {task.name!r} "
                                f"(hash {task.hash}) was given{same}; pass --task {name} or use an input "
                                f"made for {task.name!r}")


def resolve_task(task: Task | str | Path | None, folder: str | Path | None, default: str = "finheadlines",
                 what: str = "input") -> Task:
    """The task to use with an input ``folder``: ``task`` when given (checked against the folder's
    record), else the task the folder records, else ``default``."""
    rec = recorded_task(folder)
    if task is None:
        return rec if rec is not None else load_task(default)
    t = load_task(task)
    check_task(t, rec, f"{what} {folder}")
    return t


__all__ = ["TASK_FILE", "TaskError", "TaskMismatchError", "check_task", "recorded_task", "resolve_task",
           "task_ref", "task_yaml", "write_task"]
