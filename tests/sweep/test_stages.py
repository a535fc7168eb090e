"""Pieces of the real stage adapters that need no model: the nested stratified order and the pool."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from taskdistill.sweep.stages import RealStages, StageError, nested_order


def test_nested_order_prefixes_are_stratified_and_seeded():
    labels = ["a"] * 500 + ["b"] * 300 + ["c"] * 200
    order = nested_order(labels, seed=0)
    assert sorted(order.tolist()) == list(range(1000))  # a permutation
    for n in (10, 50, 100, 400):
        counts = Counter(labels[i] for i in order[:n])
        for lab, share in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
            assert abs(counts[lab] - share * n) <= 2, (n, counts)
    assert np.array_equal(order, nested_order(labels, seed=0))
    assert not np.array_equal(order, nested_order(labels, seed=1))


def test_pool_takes_a_prefix_and_rejects_too_large(tmp_path):
    src = tmp_path / "ds"
    src.mkdir()
    df = pd.DataFrame({"id": [f"r{i}" for i in range(60)], "headline": ["h"] * 60,
                       "label": ["x", "y", "z"] * 20, "category": ["c"] * 60, "rationale": [""] * 60})
    for split in ("train", "validation", "test"):
        df.to_parquet(src / f"{split}.parquet")
    out = tmp_path / "pool"
    out.mkdir()
    res = RealStages(quiet=True).pool({"max_size": 30, "seed": 0}, {"data": {"path": str(src)}}, out,
                                      work=tmp_path / "w")
    train = pd.read_parquet(out / "train.parquet")
    assert res["n_train"] == 30 and len(train) == 30 and train["id"].is_unique
    assert Counter(train["label"]) == {"x": 10, "y": 10, "z": 10}
    assert (out / "test.parquet").is_file()
    with pytest.raises(StageError, match="dataset_size 61 exceeds the 60 train rows"):
        RealStages(quiet=True).pool({"max_size": 61, "seed": 0}, {"data": {"path": str(src)}}, out,
                                    work=tmp_path / "w")


def _task_params(task):
    return {"name": task.name, "hash": task.hash, "definition": task.model_dump(mode="json")}


def test_data_path_must_hold_every_split(tmp_path):
    from taskdistill.task import load_task

    (tmp_path / "train.parquet").write_bytes(b"")
    with pytest.raises(StageError, match="missing validation.parquet, test.parquet"):
        RealStages(quiet=True).data({"name": "x", "path": str(tmp_path), "task": _task_params(
            load_task("finheadlines"))}, {}, tmp_path, work=tmp_path)


def test_data_path_must_match_the_task(tmp_path):
    """A folder whose rows use another label set, or lack the task's input column, fails with the file,
    row and field; a good one hands the task on to every later stage."""
    from taskdistill.sweep.stages import task_of
    from taskdistill.task import load_task

    task = load_task("finheadlines-coarse")
    good = pd.DataFrame({"id": ["a", "b"], "headline": ["x up", "y down"], "label": ["Earnings", "OTHER"],
                         "category": ["Earnings", "OTHER"], "rationale": ["", ""]})
    for split in ("train", "validation", "test"):
        good.to_parquet(tmp_path / f"{split}.parquet")
    res = RealStages(quiet=True).data({"name": "x", "path": str(tmp_path), "task": _task_params(task)}, {},
                                      tmp_path, work=tmp_path)
    assert res["n_train"] == 2 and task_of({"data": res}).hash == task.hash
    fine = load_task("finheadlines")
    with pytest.raises(StageError, match=r"train.parquet: row 0 field 'label' = 'Earnings' is not a label of "
                                         r"task 'finheadlines'"):
        RealStages(quiet=True).data({"name": "x", "path": str(tmp_path), "task": _task_params(fine)}, {},
                                    tmp_path, work=tmp_path)
    good.rename(columns={"headline": "text"}).to_parquet(tmp_path / "test.parquet")
    with pytest.raises(StageError, match="test.parquet: no 'headline' column"):
        RealStages(quiet=True).data({"name": "x", "path": str(tmp_path), "task": _task_params(task)}, {},
                                    tmp_path, work=tmp_path)
