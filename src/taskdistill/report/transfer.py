"""Reading the transfer sets of a sweep (``transfer_sets.json``, written by ``taskdistill sweep export`` beside the
results table; see ``taskdistill.sweep.transfer``): which sets the run looked for, where, with which task and
whether it found them. The report needs the task of each set to compare its score with the synthetic one at
the same label granularity, which the table's ``transfer.<name>.*`` columns alone do not say. Kept in the
report layer so a report built from committed files needs neither the sweep store nor the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from taskdistill.report.compute import file_beside, read_summary

TRANSFER_FILE = "transfer_sets.json"
TRANSFER_FORMAT = 1
SET_FIELDS = ("name", "split", "task", "found")


def read_transfer(path: str | Path) -> list[dict[str, Any]]:
    """The transfer sets listed in a ``transfer_sets.json``; a file that is not one is an input error naming it."""
    return read_summary(path, "a transfer-set list", TRANSFER_FORMAT, "sets", SET_FIELDS)["sets"]


def transfer_beside(source: str | Path | None) -> list[dict[str, Any]] | None:
    """The transfer sets that belong to a results table: ``transfer_sets.json`` beside the table file; None when
    there is none."""
    f = file_beside(source, TRANSFER_FILE)
    return read_transfer(f) if f is not None and f.is_file() else None
