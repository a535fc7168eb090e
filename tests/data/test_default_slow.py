"""The embedded default dataset end to end (minutes on first build; reuses the real cache after)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from taskdistill.data.loader import data_hash, load_split
from taskdistill.task import load_task

FIN = load_task("finheadlines")


@pytest.mark.slow
def test_finheadlinemix_mini_contract_and_leak_free():
    from taskdistill.data.default import dataset_dir, default_dataset, ensure_dataset
    from taskdistill.data.splits import max_cross_similarity
    from taskdistill.data.synth.embed import shared_embedder

    d = ensure_dataset(quiet=True)
    assert d == dataset_dir() and default_dataset(FIN, quiet=True) == d  # second call reuses
    assert len(data_hash(d)) == 16  # content hash of the split files (byte-identical reruns: test_pipeline.py)
    splits = {n: load_split(d / f"{n}.parquet", FIN) for n in ("train", "validation", "test")}  # strict checks pass
    assert len(splits["test"]) == 700 and (splits["test"]["label"].value_counts() == 20).all()
    assert len(splits["validation"]) == 350 and set(splits["train"]["label"]) == set(FIN.label_names)
    ids = np.concatenate([s["id"].to_numpy() for s in splits.values()])
    assert len(set(ids)) == len(ids)
    st = json.loads((d / "stats.json").read_text())
    assert st["min_label_share"] >= 0.02 and 0.5 < st["difficulty_probe"]["macro_f1"] < 0.97
    emb = shared_embedder()
    sim = max_cross_similarity(emb.encode(splits["test"]["headline"].tolist()),
                               emb.encode(splits["train"]["headline"].tolist()))
    assert sim < 0.9 + 1e-3  # re-encoding in other batches may move cosines by ~1e-6


@pytest.mark.slow
def test_finheadlines_coarse_default_is_derived():
    from taskdistill.data.default import default_dataset

    coarse = load_task("finheadlines-coarse")
    d = default_dataset(coarse, quiet=True)
    parent = default_dataset(FIN, quiet=True)
    test = load_split(d / "test.parquet", coarse)
    src = load_split(parent / "test.parquet", FIN)
    assert test["label"].tolist() == [FIN.group(lab) for lab in src["label"]]
    assert set(test["label"]) == set(coarse.label_names) and default_dataset(coarse, quiet=True) == d
