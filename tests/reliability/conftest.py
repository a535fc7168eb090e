"""Shared inputs for the bad-input tests: a clean tiny checkpoint, corrupted copies of it, and a small
valid dataset, so each test fails for exactly one reason."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from ..models.corrupt import TENSOR, save_clean
from ..models.corrupt import missing as _missing
from ..models.corrupt import truncated as _truncated
from ..models.corrupt import wrong_shape as _wrong_shape


@pytest.fixture(scope="session")
def clean_ckpt(tmp_path_factory):
    return save_clean(tmp_path_factory.mktemp("reliability") / "tiny-llama")


CORRUPTIONS = {
    "missing-tensor": (_missing, [TENSOR, "missing"]),
    "wrong-shape": (_wrong_shape, [TENSOR, "[3, 3]"]),
    "truncated-file": (_truncated, ["truncated"]),
}


@pytest.fixture(params=sorted(CORRUPTIONS))
def corrupt_ckpt(request, clean_ckpt, tmp_path):
    """(folder, words the error must contain) for each way of breaking a checkpoint."""
    corrupt, words = CORRUPTIONS[request.param]
    d = tmp_path / "corrupt-ckpt"
    shutil.copytree(clean_ckpt, d)
    corrupt(d)
    return d, [str(d / "model.safetensors"), *words]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """A valid finheadlines dataset folder: two rows per label in each split."""
    from taskdistill.task import load_task

    task = load_task("finheadlines")
    d = tmp_path_factory.mktemp("reliability") / "dataset"
    d.mkdir()
    for split in ("train", "validation", "test"):
        rows = [{"id": f"{split}-{i}-{j}", task.input_field: f"Acme Corp news item {i} {j}", "label": label,
                 "category": task.group(label), "rationale": ""}
                for i, label in enumerate(task.label_names) for j in range(2)]
        pd.DataFrame(rows).to_parquet(d / f"{split}.parquet", index=False)
    return d
