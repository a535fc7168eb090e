"""Default datasets per task: a derived task (finheadlines-coarse) relabels its parent's data."""

from __future__ import annotations

import pandas as pd
import pytest

from taskdistill.data.default import DatasetError, default_dataset, derived_dataset
from taskdistill.data.loader import data_hash, load_dataset
from taskdistill.data.taskfile import write_task_yaml
from taskdistill.task import Task, TaskError, load_task

FIN = load_task("finheadlines")
COARSE = load_task("finheadlines-coarse")


def _parent(folder, task=FIN):
    """A small finheadlines dataset folder: 2 rows of every label per split, with a ``kind`` column."""
    folder.mkdir(parents=True)
    for s in ("train", "validation", "test"):
        rows = [dict(id=f"{s}-{i}-{j}", headline=f"{s} headline {i} number {j} about {lab}", label=lab,
                     category=FIN.group(lab), rationale=f"why {lab}", kind="simple")
                for i, lab in enumerate(FIN.label_names) for j in range(2)]
        pd.DataFrame(rows).to_parquet(folder / f"{s}.parquet", index=False)
    write_task_yaml(task, folder / "task.yaml")
    return folder


def test_derived_copy_maps_labels_to_groups(tmp_path):
    parent = _parent(tmp_path / "fin")
    d = derived_dataset(parent, COARSE)
    assert d.name.startswith("finheadlines-coarse-") and d.parent.name == "data"
    assert load_task(d / "task.yaml").hash == COARSE.hash
    got = load_dataset(d, COARSE, keep_extra=True)  # valid split files of the coarse task
    for s in ("train", "validation", "test"):
        src = pd.read_parquet(parent / f"{s}.parquet")
        out = pd.read_parquet(d / f"{s}.parquet")
        assert list(out.columns) == list(src.columns)
        assert out["label"].tolist() == [FIN.group(lab) for lab in src["label"]]
        assert out["category"].tolist() == out["label"].tolist()  # the coarse task has no groups
        for col in ("id", "headline", "rationale", "kind"):
            assert out[col].tolist() == src[col].tolist()
        assert set(got[s]["label"]) == set(COARSE.label_names)
    # content-addressed: same parent bytes -> same folder, reused; other parent bytes -> another folder
    assert derived_dataset(parent, COARSE) == d
    other = _parent(tmp_path / "fin2")
    df = pd.read_parquet(other / "test.parquet").iloc[1:]
    df.to_parquet(other / "test.parquet", index=False)
    assert data_hash(other) != data_hash(parent) and derived_dataset(other, COARSE) != d


def test_derived_refuses_wrong_parent_and_plain_tasks(tmp_path):
    coarse_folder = _parent(tmp_path / "fin")
    write_task_yaml(COARSE, coarse_folder / "task.yaml")  # claims to hold coarse data
    with pytest.raises(TaskError, match=r"task.yaml: dataset is labelled for task 'finheadlines-coarse' \(hash "
                                        r"\w+\), not for 'finheadlines'"):
        derived_dataset(coarse_folder, COARSE)
    with pytest.raises(DatasetError, match="not derived from another task"):
        derived_dataset(_parent(tmp_path / "p"), FIN)


def test_a_user_task_has_no_default_dataset(tmp_path):
    from tests.task.toy import write_toy_task

    _, task_path = write_toy_task(tmp_path)
    with pytest.raises(DatasetError, match="task 'ticket-routing' has no built-in dataset; import your labelled "
                                           "file with `taskdistill data import"):
        default_dataset(load_task(task_path))
    changed = Task.model_validate({**FIN.model_dump(), "aliases": {"upgrade": "rating upgrade"}})
    assert changed.name == "finheadlines" and changed.hash != FIN.hash
    with pytest.raises(DatasetError, match="is not the built-in 'finheadlines'"):
        default_dataset(changed)
