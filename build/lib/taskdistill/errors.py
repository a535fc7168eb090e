"""The one error path: every problem with what the user gave taskdistill is a ``TaskdistillError``.

``taskdistill <command>`` prints a ``TaskdistillError`` as one line, ``error: <message>``, and exits
with code 2. Any other exception is a bug in taskdistill: it prints its traceback and exits with
code 1 (set ``TASKDISTILL_DEBUG=1`` to see the traceback of a user error too).

A message names the offending file, row or field first and then says what is wrong and what to do,
e.g. ``runs/a/config.yaml: field 'lr': must be > 0, got -1``. This module is the lowest layer of the
package: it imports nothing from taskdistill, so every stage can raise these.
"""

from __future__ import annotations

from pathlib import Path

EXIT_USER_ERROR = 2
EXIT_BUG = 1


class TaskdistillError(Exception):
    """Something the user gave (a file, a flag, a folder) is wrong; the message says what and where.

    The command line prints ``error: <message>`` and exits with ``exit_code`` (2)."""

    exit_code = EXIT_USER_ERROR


class InputError(TaskdistillError, ValueError):
    """A value in an input file or option is wrong. ``where`` names the file/row/field or the option."""

    def __init__(self, where: str | Path, message: str):
        self.where = str(where)
        self.message = message
        super().__init__(f"{self.where}: {message}")


class OutputLockedError(TaskdistillError):
    """Another live process is writing the same output folder (see ``taskdistill.cache.output_lock``)."""

    def __init__(self, path: str | Path, holder: dict | None):
        self.path = Path(path)
        self.holder = holder or {}
        super().__init__(f"{self.path}: {describe_holder(self.holder)} is writing this folder; wait for it to "
                         "finish (or stop it) and rerun, or choose another output folder")


def describe_holder(holder: dict) -> str:
    """``pid 123 on host h (taskdistill distill ...), since 2025-01-01 12:00:00`` from a lock's holder record."""
    if not holder.get("pid"):
        return "another process"
    text = f"pid {holder['pid']}"
    if holder.get("host"):
        text += f" on host {holder['host']}"
    if holder.get("command"):
        text += f" ({holder['command']})"
    if holder.get("since"):
        text += f", since {holder['since']}"
    return text


def error_line(exc: BaseException) -> str:
    """The one line the command line prints for a user error (newlines folded, so it stays one line)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    return f"error: {text}"
