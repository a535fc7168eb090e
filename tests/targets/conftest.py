"""Fixtures shared by the targets and distill tests: a tiny model, a small dataset of the built-in
finheadlines task, examples and a teacher cache.

The CPU is shared by many processes; one intra-op thread is much faster than two under contention
for models this small, so these tests pin it."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from taskdistill.task import load_task

torch.set_num_threads(1)

SHAPE = dict(layers=2, hidden=32, heads=2, kv_heads=1, intermediate=64)
MAXLEN = 512
FH = load_task("finheadlines")


def make_df(n: int = 24, offset: int = 0) -> pd.DataFrame:
    rows = range(offset, offset + n)
    labels = [FH.label_names[i % 4] for i in rows]
    return pd.DataFrame({
        "id": [f"h{i}" for i in rows],
        "headline": [f"Co {i} up" for i in rows],
        "label": labels,
        "category": [FH.group(lab) for lab in labels],
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
    from taskdistill.targets.examples import build_examples

    return build_examples(small[1], FH, make_df(), fmt="cot", max_length=MAXLEN)


@pytest.fixture
def cot_cache(teacher, small, cot_examples, tmp_path):
    from taskdistill.targets.cache import TopKCache, write_topk_cache

    write_topk_cache(teacher, small[1], cot_examples, tmp_path / "cache", k=32, quiet=True, task_hash=FH.hash)
    return TopKCache.open(tmp_path / "cache")
