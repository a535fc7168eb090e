"""docs/taxonomy.md lists exactly the classes of taxonomy.yaml, with the same priorities."""

from __future__ import annotations

import re
from pathlib import Path

from taskdistill.data.taxonomy import TAXONOMY


def test_docs_table_matches_yaml():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "taxonomy.md").read_text()
    rows = re.findall(r"^\| (\d+) \| `([^`]+)` \| ([^|]+) \| (\d+) \|", doc, flags=re.M)
    assert [(int(i), lab, cat.strip(), int(p)) for i, lab, cat, p in rows] == [
        (c.id, c.label, c.category, c.priority) for c in TAXONOMY.classes]
