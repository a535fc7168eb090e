"""Iterative vs one-shot schedules on a tiny model: lineage, sizes, equal step budgets."""

from __future__ import annotations

import json

import pytest

from taskdistill.distill.config import DistillConfig
from taskdistill.distill.schedule import run_schedule

from .conftest import MAXLEN


def test_iterative_and_oneshot(teacher, small, cot_examples, cot_cache, tmp_path):
    from taskdistill.models.arch import count_params

    _, tok = small
    # the teacher checkpoint the schedule starts from (4 layers so depth can shrink)
    from taskdistill.models import make_tiny_model

    big, _ = make_tiny_model("llama", seed=1, layers=4, hidden=64, heads=4, kv_heads=2, intermediate=128)
    big.save_pretrained(tmp_path / "teacher")
    tok.save_pretrained(tmp_path / "teacher")
    cfg = DistillConfig(supervision="sft", steps=2, batch_size=8, warmup_steps=0, lr=1e-3, max_length=MAXLEN)
    calib = [f"headline {i}" for i in range(8)]
    it = run_schedule(tmp_path / "teacher", [0.8, 0.6], schedule="iterative", calib_texts=calib,
                      train_examples=cot_examples, cache=None, cfg=cfg, out_root=tmp_path / "runs",
                      prune_method="magnitude", quiet=True)
    one = run_schedule(tmp_path / "teacher", [0.8, 0.6], schedule="oneshot", calib_texts=calib,
                       train_examples=cot_examples, cache=None, cfg=cfg, out_root=tmp_path / "runs",
                       prune_method="magnitude", quiet=True)
    assert [r["step"] for r in it] == [0, 1] and len(one) == 1
    assert it[1]["parent"] == it[0]["checkpoint"]  # step 2 prunes the *distilled* step-1 student
    assert it[0]["parent"] == str(tmp_path / "teacher")
    assert one[0]["parent"] == str(tmp_path / "teacher")
    assert sum(r["distill_steps"] for r in it) == one[0]["distill_steps"] == 4
    tp = count_params(big)
    for r, want in ((it[0], 0.8), (it[1], 0.6), (one[0], 0.6)):
        assert r["teacher_params"] == tp
        assert r["param_ratio"] == pytest.approx(want, abs=0.05)
        lineage = json.loads((tmp_path / r["checkpoint"] / "lineage.json").read_text())
        assert lineage["checkpoint"] == r["checkpoint"]
    assert it[1]["lineage"] == [it[0]["checkpoint"], it[1]["checkpoint"]]
    assert json.loads((tmp_path / "runs" / "iterative.json").read_text())[1]["step"] == 1
    # resumable: a rerun reuses every output
    again = run_schedule(tmp_path / "teacher", [0.8, 0.6], schedule="iterative", calib_texts=calib,
                         train_examples=cot_examples, cache=None, cfg=cfg, out_root=tmp_path / "runs",
                         prune_method="magnitude", quiet=True)
    assert [r["checkpoint"] for r in again] == [r["checkpoint"] for r in it]
    with pytest.raises(ValueError, match="strictly decreasing"):
        run_schedule(tmp_path / "teacher", [0.6, 0.8], calib_texts=calib, train_examples=cot_examples,
                     cache=None, cfg=cfg, out_root=tmp_path / "bad")
