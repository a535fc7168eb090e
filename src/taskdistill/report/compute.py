"""Reading a sweep's compute summary (``compute.json``, written by ``taskdistill sweep export`` beside the
results table; see ``taskdistill.sweep.compute``) for the report's "Compute spent" block. Kept in the report
layer so a report built from committed files needs neither the sweep store nor the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taskdistill.errors import InputError

COMPUTE_FILE = "compute.json"
COMPUTE_FORMAT = 2
FIELDS = ("uses", "nodes", "reuses", "computed", "from_cache", "seconds", "cpu_seconds", "seconds_saved",
          "node_seconds", "node_cpu_seconds", "shared_saved", "unrecorded")


EXPORT_AGAIN = "`taskdistill sweep export SWEEP --out TABLE`"


def read_summary(path: str | Path, what: str, fmt: int, list_key: str, fields: tuple[str, ...],
                 again: str = EXPORT_AGAIN) -> dict[str, Any]:
    """Read a JSON summary file of format ``fmt`` whose ``list_key`` entries each hold ``fields``; a file
    that is not one is an input error naming it (and the entry); one of an older format says to write it
    ``again`` with that command."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read {what}: {exc}") from exc
    old = data.get("format") if isinstance(data, dict) else None
    if isinstance(old, int) and old < fmt:
        raise InputError(path, f"{what} of an older format ({old}, this version reads {fmt}); write it again "
                               f"with {again}")
    if not isinstance(data, dict) or data.get("format") != fmt or not isinstance(data.get(list_key), list):
        raise InputError(path, f"not {what} of format {fmt} (needs 'format' and '{list_key}')")
    for i, entry in enumerate(data[list_key]):
        missing = [k for k in fields if k not in entry]
        if missing:
            raise InputError(path, f"{list_key}[{i}]: missing field(s) {', '.join(missing)}")
    return data


def file_beside(source: str | Path | None, name: str) -> Path | None:
    """The file ``name`` beside a results table file (or inside a sweep folder); None when the table has no
    file or folder to look beside."""
    if not source:
        return None
    p = Path(str(source))
    return p / name if p.is_dir() else p.with_name(name) if p.suffix else None


def read_compute(path: str | Path) -> dict[str, Any]:
    """Read a ``compute.json``; a file that is not one is an input error naming it."""
    return read_summary(path, "a compute summary", COMPUTE_FORMAT, "stages", ("stage", *FIELDS))


def compute_beside(source: str | Path | None) -> tuple[dict[str, Any] | None, Path | None]:
    """The compute summary that belongs to a results table: ``compute.json`` beside the table file (or inside
    a sweep folder), and the path looked at. ``(None, path)`` when there is none; ``(None, None)`` when the
    table has no file or folder to look beside."""
    f = file_beside(source, COMPUTE_FILE)
    return (read_compute(f) if f is not None and f.is_file() else None), f
