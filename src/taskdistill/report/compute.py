"""Reading a sweep's compute summary (``compute.json``, written by ``taskdistill sweep export`` beside the
results table; see ``taskdistill.sweep.compute``) for the report's "Compute spent" block. Kept in the report
layer so a report built from committed files needs neither the sweep store nor the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taskdistill.errors import InputError

COMPUTE_FILE = "compute.json"
COMPUTE_FORMAT = 1
FIELDS = ("uses", "nodes", "reuses", "computed", "from_cache", "seconds", "cpu_seconds", "seconds_saved")


def read_compute(path: str | Path) -> dict[str, Any]:
    """Read a ``compute.json``; a file that is not one is an input error naming it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read the compute summary: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != COMPUTE_FORMAT or not isinstance(data.get("stages"), list):
        raise InputError(path, f"not a compute summary of format {COMPUTE_FORMAT} (needs 'format' and 'stages')")
    for i, s in enumerate(data["stages"]):
        missing = [k for k in ("stage", *FIELDS) if k not in s]
        if missing:
            raise InputError(path, f"stages[{i}]: missing field(s) {', '.join(missing)}")
    return data


def compute_beside(source: str | Path | None) -> tuple[dict[str, Any] | None, Path | None]:
    """The compute summary that belongs to a results table: ``compute.json`` beside the table file (or inside
    a sweep folder), and the path looked at. ``(None, path)`` when there is none; ``(None, None)`` when the
    table has no file or folder to look beside."""
    if not source:
        return None, None
    p = Path(str(source))
    f = p / COMPUTE_FILE if p.is_dir() else p.with_name(COMPUTE_FILE) if p.suffix else None
    if f is None:
        return None, None
    return (read_compute(f) if f.is_file() else None), f
