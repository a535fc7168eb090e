"""Fixtures for the distill tests: a small tiny model, a small dataset, examples and a teacher cache.

The CPU is shared by many processes; one intra-op thread is much faster than two under contention
for models this small, so these tests pin it."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from taskdistill.data.taxonomy import LABELS

torch.set_num_threads(1)

SHAPE = dict(layers=2, hidden=32, heads=2, kv_heads=1, intermediate=64)
MAXLEN = 512


def make_df(n: int = 24, offset: int = 0) -> pd.DataFrame:
    rows = range(offset, offset + n)
    return pd.DataFrame({
        "id": [f"h{i}" for i in rows],
        "headline": [f"Co {i} up" for i in rows],
        "label": [LABELS[i % 4] for i in rows],
        "category": ["x"] * n,
        "rationale": [f"r{i % 4}." for i in rows],
    })


@pytest.fixture
def small():
    """(student, tokenizer) tiny llama, 2 layers."""
    from taskdistill.models import make_tiny_model

    return make_tiny_model("llama", seed=0, **SHAPE)


@pytest.fixture
def teacher():
    from taskdistill.models import make_tiny_model

    return make_tiny_model("llama", seed=1, **SHAPE)[0]


@pytest.fixture
def cot_examples(small):
    from taskdistill.distill.examples import build_examples

    return build_examples(small[1], make_df(), fmt="cot", max_length=MAXLEN)


@pytest.fixture
def cot_cache(teacher, small, cot_examples, tmp_path):
    from taskdistill.distill.targets import TopKCache, write_topk_cache

    write_topk_cache(teacher, small[1], cot_examples, tmp_path / "cache", k=32, quiet=True)
    return TopKCache.open(tmp_path / "cache")
