"""Fixtures of the teacher tests: a small but valid dataset folder of the built-in finheadlines task."""

from __future__ import annotations

import pandas as pd
import pytest

from taskdistill.task import load_task

FH = load_task("finheadlines")


def make_split(n: int, offset: int = 0, prefix: str = "r") -> pd.DataFrame:
    rows = []
    for i in range(n):
        label = FH.label_names[(i + offset) % FH.n_classes]
        rows.append({"id": f"{prefix}{i}", "headline": f"Acme Corp {label} news item {i}", "label": label,
                     "category": FH.group(label), "rationale": f"The headline reports a {label}."})
    return pd.DataFrame(rows)


@pytest.fixture
def dataset_dir(tmp_path):
    d = tmp_path / "ds"
    d.mkdir()
    make_split(12, 0, "tr").to_parquet(d / "train.parquet", index=False)
    make_split(6, 3, "va").to_parquet(d / "validation.parquet", index=False)
    make_split(6, 7, "te").to_parquet(d / "test.parquet", index=False)
    return d
