"""The real stages on a tiny random Llama: the sweep wires data -> teacher -> annotations -> prune ->
distill -> evaluate for real (no placeholders), and the iterative chain really prunes the 58% student
from the *distilled* 79% one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from taskdistill.data.taxonomy import LABELS, coarse
from taskdistill.sweep.dag import expand
from taskdistill.sweep.executors import run_sweep
from taskdistill.sweep.runner import read_node
from taskdistill.sweep.spec import SweepSpec, load_spec
from taskdistill.sweep.store import load_results

REPO = Path(__file__).resolve().parents[2]


def make_split(n: int, offset: int, prefix: str) -> pd.DataFrame:
    labels = [LABELS[(i + offset) % len(LABELS)] for i in range(n)]
    return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)],
                         "headline": [f"Acme {lab} item {i}" for i, lab in enumerate(labels)],
                         "label": labels, "category": [coarse(lab) for lab in labels],
                         "rationale": [f"It reports a {lab}." for lab in labels]})


@pytest.fixture
def tiny_spec(tmp_path) -> SweepSpec:
    d = tmp_path / "ds"
    d.mkdir()
    make_split(40, 0, "tr").to_parquet(d / "train.parquet", index=False)
    make_split(8, 3, "va").to_parquet(d / "validation.parquet", index=False)
    make_split(10, 7, "te").to_parquet(d / "test.parquet", index=False)
    raw = load_spec(REPO / "configs" / "tiny.yaml").model_dump(mode="json")
    raw["data"]["path"] = str(d)
    raw["grid"]["dataset_size"] = [24]
    raw["eval"] = {"limit": 8, "mmlu_n": 4, "efficiency": False}
    return SweepSpec.model_validate(raw)


def test_real_stages_end_to_end_on_tiny_llama(tiny_spec, tmp_path):
    counts = run_sweep(tiny_spec, tmp_path / "sw", quiet=True)
    sw = tmp_path / "sw"
    from taskdistill.sweep.store import Store

    errors = [c["error"] for c in Store(sw).cells() if c["status"] == "failed"]
    assert counts["failed"] == 0, errors[0]
    df = load_results(sw)
    assert len(df) == tiny_spec.n_cells() == 5
    students = df[df.method != "teacher"]
    for t in (0.79, 0.58):
        ratio = students[students.target == t].params_ratio
        assert np.allclose(ratio, t, atol=0.05), (t, ratio.tolist())
    for col in ("indomain.macro_f1", "indomain.nll", "indomain.brier", "mmlu.acc", "mmlu.gold_ll_per_char"):
        assert df[col].notna().all() and np.isfinite(df[col]).all(), col

    cells = expand(tiny_spec)
    c58 = next(c for c in cells if c.settings["target"] == 0.58 and c.settings["supervision"] == "blended")
    c79 = next(c for c in cells if c.settings["target"] == 0.79 and c.settings["supervision"] == "blended")
    prune58 = c58.node.input("model").input("student")
    report = json.loads((Path(read_node(prune58)["path"]) / "prune_report.json").read_text())
    # the 58% student is pruned from the distilled 79% student of the same chain
    assert report["sweep_input"] == read_node(c79.node.input("model"))["path"]
    from taskdistill.cache import stage_dir

    assert len([p for p in stage_dir("annotations").iterdir() if not p.name.startswith(".")]) == 1

    # a rerun computes nothing and adds no rows
    counts = run_sweep(tiny_spec, sw, quiet=True)
    assert counts == {"done": 0, "skipped": 0, "failed": 0}
    assert len(load_results(sw)) == 5
