"""docs/taxonomy.md lists exactly the labels of the built-in finheadlines task, with the same groups and
priorities."""

from __future__ import annotations

import re
from pathlib import Path

from taskdistill.task import load_task


def test_docs_table_matches_task():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "taxonomy.md").read_text()
    rows = re.findall(r"^\| (\d+) \| `([^`]+)` \| ([^|]+) \| (\d+) \|", doc, flags=re.M)
    task = load_task("finheadlines")
    assert [(int(i), lab, cat.strip(), int(p)) for i, lab, cat, p in rows] == [
        (i, c.answer, c.group, c.priority) for i, c in enumerate(task.labels)]
