"""Shared inputs for the bad-input tests: a clean tiny checkpoint, corrupted copies of it, and a small
valid dataset, so each test fails for exactly one reason."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

TENSOR = "model.layers.1.mlp.up_proj.weight"


@pytest.fixture(scope="session")
def clean_ckpt(tmp_path_factory):
    from taskdistill.models import make_tiny_model

    d = tmp_path_factory.mktemp("reliability") / "tiny-llama"
    model, tok = make_tiny_model("llama", tied=False)
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


def _rewrite(d, edit):
    sd = load_file(d / "model.safetensors")
    edit(sd)
    save_file(sd, d / "model.safetensors", metadata={"format": "pt"})


def _missing(d):
    _rewrite(d, lambda sd: sd.pop(TENSOR))


def _wrong_shape(d):
    _rewrite(d, lambda sd: sd.__setitem__(TENSOR, torch.zeros(3, 3)))


def _truncated(d):
    f = d / "model.safetensors"
    f.write_bytes(f.read_bytes()[: f.stat().st_size * 2 // 3])


# corruption -> what the message must say besides the weights file
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
