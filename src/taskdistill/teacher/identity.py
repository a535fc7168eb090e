"""Content identities of the two inputs of this stage: a model checkpoint and a dataset folder.

The teacher and annotation caches are keyed by *what the files hold*, not by their paths: renaming a
folder keeps its cache, while retraining a teacher in place (same path, new weights) gets a new one.
The model's hash is ``taskdistill.models.identity.model_hash``, the one every stage uses.
"""

from __future__ import annotations

import json
from pathlib import Path

from taskdistill.checks import check_name
from taskdistill.errors import TaskdistillError
from taskdistill.models.identity import model_hash  # noqa: F401  (the one model identity, used by this stage)

SPLITS = ("train", "validation", "test")


class TeacherInputError(TaskdistillError, ValueError):
    """A teacher or dataset input that cannot be used; the message names the file or folder."""


def split_path(dataset_dir: str | Path, split: str) -> Path:
    """``<dataset_dir>/<split>.parquet``, or a clear error saying what the folder lacks."""
    from taskdistill.data.loader import split_file

    dataset_dir = Path(dataset_dir)
    check_name(split, "split")  # a split is a file name inside the folder: never '../x'
    if not dataset_dir.is_dir():
        raise TeacherInputError(f"dataset folder not found: {dataset_dir}")
    return split_file(dataset_dir, split)


def dataset_hash(dataset_dir: str | Path, splits: tuple[str, ...] = SPLITS) -> str:
    """The data stage's ``data_hash`` of the split files, after checking that each one exists."""
    from taskdistill.data.loader import data_hash

    for s in splits:
        split_path(dataset_dir, s)
    return data_hash(dataset_dir, splits)


def read_split(dataset_dir: str | Path, split: str, task):
    """Load one split of ``task`` through the data stage's validating loader (columns ``id``,
    ``task.input_field``, ``label``, ``category``, ``rationale``)."""
    from taskdistill.data.loader import read_split

    split_path(dataset_dir, split)  # a folder, not a file: the teacher reads dataset folders only
    return read_split(dataset_dir, task, split)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TeacherInputError(f"{path}: cannot read ({exc})") from exc
