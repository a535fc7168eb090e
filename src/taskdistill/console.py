"""The global ``--quiet`` flag, readable by every stage's command without importing the command line.

``taskdistill --quiet <command>`` sets it once (``set_quiet``); commands read it with ``quiet()``.
The environment variable ``TASKDISTILL_QUIET=1`` sets it too (subprocesses inherit it).
"""

from __future__ import annotations

import os

_STATE = {"quiet": False}


def set_quiet(value: bool) -> None:
    _STATE["quiet"] = bool(value)


def quiet() -> bool:
    """Whether to print only results and errors."""
    return _STATE["quiet"] or os.environ.get("TASKDISTILL_QUIET", "") not in ("", "0")
