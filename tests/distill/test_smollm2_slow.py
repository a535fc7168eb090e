"""Real SmolLM2 path (slow): top-k cache from the real teacher, blended KD into a depth-truncated
student, LoRA and full, exported checkpoints reload."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from taskdistill.task import load_task

FH = load_task("finheadlines")

pytestmark = pytest.mark.slow


def test_smollm2_blended_kd_into_truncated_student(smollm2, tmp_path):
    from transformers import AutoModelForCausalLM

    from taskdistill.distill.config import DistillConfig
    from taskdistill.distill.trainer import load_log, train
    from taskdistill.targets.cache import TopKCache, write_topk_cache
    from taskdistill.targets.examples import build_examples

    teacher, tok = smollm2
    df = pd.DataFrame({"id": [f"s{i}" for i in range(8)],
                       "headline": [f"Acme Corp {i} raises full-year guidance" for i in range(8)],
                       "label": [FH.label_names[i % 35] for i in range(8)],
                       "rationale": ["The company lifts its outlook, a guidance event."] * 8})
    ex = build_examples(tok, FH, df, fmt="cot", max_length=128)
    assert all(e.has_trace for e in ex)
    write_topk_cache(teacher, tok, ex, tmp_path / "cache", k=64, batch_size=8, quiet=True)
    cache = TopKCache.open(tmp_path / "cache", expect_fmt="cot")
    ids, lps, tail = cache.get(0)
    assert ids.shape == (ex[0].n_supervised, 64) and int(ids.max()) < 49152
    assert torch.all(lps.exp().sum(-1) + tail.exp() <= 1.0001)

    student = AutoModelForCausalLM.from_pretrained(teacher.taskdistill_source, dtype=torch.float32)
    student.model.layers = student.model.layers[:4]
    student.config.num_hidden_layers = 4
    for method in ("logit", "lora"):
        cfg = DistillConfig(method=method, supervision="blended", steps=2, batch_size=4, lr=1e-4,
                            warmup_steps=0, blend_lambda=0.5, max_length=128)
        final = train(student, tok, ex, cfg, tmp_path / method, cache=cache, eval_examples=ex[:4], quiet=True)
        rows = [r for r in load_log(tmp_path / method) if "loss" in r]
        assert len(rows) == 2 and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
        assert "kl" in rows[0] and "ce" in rows[0]
        reloaded = AutoModelForCausalLM.from_pretrained(final, dtype=torch.float32)
        assert reloaded.config.num_hidden_layers == 4
