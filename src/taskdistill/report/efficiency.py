"""Reading the quiet re-measurement of a sweep's speed (``efficiency.json``, written by ``taskdistill sweep
efficiency`` into the sweep folder and copied beside the results table by ``sweep export``; see
``taskdistill.sweep.efficiency``). Kept in the report layer so a report built from committed files needs
neither the sweep store nor the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from taskdistill.errors import InputError

EFFICIENCY_FILE = "efficiency.json"
EFFICIENCY_FORMAT = 1
MODEL_FIELDS = ("target", "method", "schedule", "params", "size_bytes", "latency_ms_batch1", "headlines_per_s")


def read_efficiency(path: str | Path) -> dict[str, Any]:
    """Read an ``efficiency.json``; a file that is not one is an input error naming it (and the model)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read the efficiency measurements: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != EFFICIENCY_FORMAT or not isinstance(data.get("models"), list):
        raise InputError(path, f"not an efficiency file of format {EFFICIENCY_FORMAT} (needs 'format' and 'models')")
    for i, m in enumerate(data["models"]):
        missing = [k for k in MODEL_FIELDS if k not in m]
        if missing:
            raise InputError(path, f"models[{i}]: missing field(s) {', '.join(missing)}")
    return data


def efficiency_beside(source: str | Path | None) -> dict[str, Any] | None:
    """The quiet measurements that belong to a results table: ``efficiency.json`` beside the table file (or
    inside a sweep folder); None when there is none."""
    if not source:
        return None
    p = Path(str(source))
    f = p / EFFICIENCY_FILE if p.is_dir() else p.with_name(EFFICIENCY_FILE) if p.suffix else None
    return read_efficiency(f) if f is not None and f.is_file() else None


def efficiency_rows(data: dict[str, Any]) -> pd.DataFrame:
    """The measured models as results-table rows (``efficiency.*`` columns, ``params_ratio`` against the
    measured teacher), so the report's efficiency table treats them like the sweep's own rows."""
    recs = []
    teacher = next((m["params"] for m in data["models"] if m["method"] == "teacher"), None)
    for m in data["models"]:
        rec = {"status": "done", "method": m["method"], "target": m["target"], "schedule": m["schedule"],
               "params_ratio": m["params"] / teacher if teacher else float("nan")}
        rec.update({f"efficiency.{k}": v for k, v in m.items() if k not in ("target", "method", "schedule")})
        recs.append(rec)
    return pd.DataFrame(recs)
