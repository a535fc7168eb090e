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


def test_smollm2_skip_loss_layer_scores(smollm2):
    """The replayed skip-loss equals a naive bypass on the real architecture, and the embedding-facing
    first layer is the one SmolLM2 can least afford to lose."""
    from taskdistill.prune import compute_importance
    from taskdistill.prune.calib import general_texts
    from taskdistill.prune.importance import _next_token_targets

    model, tok = smollm2
    texts = general_texts(8)
    imp = compute_importance(model, tok, texts, max_length=48, cache=False, progress=False, layer_score="skip_loss")
    assert torch.isfinite(imp.layers).all() and imp.layers.shape == (model.config.num_hidden_layers,)
    assert int(imp.layers.argmax()) == 0 and imp.layers[0] > 1.0
    assert 0.5 < imp.meta["base_loss"] < 6.0  # a trained LM on MMLU text, in nats per token

    layer = model.model.layers[14]
    enc = tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=48, add_special_tokens=False)
    pos, targets = _next_token_targets(enc["input_ids"], enc["attention_mask"].bool())
    with torch.no_grad():
        full = torch.nn.functional.cross_entropy(model(**enc).logits[pos].float(), targets).item()
        layer.forward = lambda hidden_states, *a, **k: hidden_states
        try:
            skipped = torch.nn.functional.cross_entropy(model(**enc).logits[pos].float(), targets).item()
        finally:
            del layer.forward
    assert imp.meta["base_loss"] == pytest.approx(full, abs=1e-4)
    assert imp.layers[14].item() == pytest.approx(skipped - full, abs=1e-4)
