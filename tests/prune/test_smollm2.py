"""Real SmolLM2-135M: the paper's four sizes, each saved and reloaded with ``from_pretrained``."""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.slow


def test_smollm2_paper_sizes_reload(smollm2, tmp_path):
    from transformers import AutoModelForCausalLM

    from taskdistill.models.arch import count_params
    from taskdistill.prune import paper_steps, prune_model, save_pruned
    from taskdistill.prune.calib import general_texts

    model, tok = smollm2
    teacher = count_params(model)
    calib = general_texts(16)
    enc = tok(["Acme Corp beats quarterly earnings estimates"], return_tensors="pt")
    for target in paper_steps():
        new, report = prune_model(model, tok, target, calib_texts=calib, max_length=48, cache=False,
                                  progress=False)
        assert abs(count_params(new) - target * teacher) <= 0.01 * teacher
        out = save_pruned(new, tok, tmp_path / f"s{target}", report)
        back = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
        with torch.no_grad():
            diff = (back(**enc).logits - new(**enc).logits).abs().max().item()
        assert diff <= 1e-5
        gen = back.generate(**enc, max_new_tokens=3, do_sample=False, use_cache=True,
                            pad_token_id=tok.pad_token_id)
        assert gen.shape[1] == enc["input_ids"].shape[1] + 3
        del new, back
