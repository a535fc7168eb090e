"""Reading the quiet re-measurement of a sweep's speed (``efficiency.json``, written by ``taskdistill sweep
efficiency`` into the sweep folder and copied beside the results table by ``sweep export``; see
``taskdistill.sweep.efficiency``). Kept in the report layer so a report built from committed files needs
neither the sweep store nor the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from taskdistill.report.compute import file_beside, read_summary

EFFICIENCY_FILE = "efficiency.json"
EFFICIENCY_FORMAT = 1
MODEL_FIELDS = ("target", "method", "schedule", "params", "size_bytes", "latency_ms_batch1", "headlines_per_s")


def read_efficiency(path: str | Path) -> dict[str, Any]:
    """Read an ``efficiency.json``; a file that is not one is an input error naming it (and the model)."""
    return read_summary(path, "the efficiency measurements", EFFICIENCY_FORMAT, "models", MODEL_FIELDS,
                        again="`taskdistill sweep efficiency SWEEP`")


def efficiency_beside(source: str | Path | None) -> dict[str, Any] | None:
    """The quiet measurements that belong to a results table: ``efficiency.json`` beside the table file (or
    inside a sweep folder); None when there is none."""
    f = file_beside(source, EFFICIENCY_FILE)
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
