"""Skip-loss layer importance: exact against a naive bypass, a dead layer scores ~0 and is dropped first,
padding is masked, the cache keeps the two layer scores apart, bad options fail clearly."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.models import make_tiny_model
from taskdistill.prune import apply_plan, compute_importance, plan_shape, prune_model
from taskdistill.prune.adapters import adapter_for, shape_of
from taskdistill.prune.importance import _next_token_targets

from .helpers import CALIB


def _fit(model, tok, steps: int = 12, lr: float = 3e-2) -> None:
    """A few full-batch steps on the calibration texts, so every layer carries real signal: in a random
    model skipping a layer moves the loss by noise of either sign, which would make 'the dead layer has
    the lowest score' a coin toss."""
    torch.manual_seed(0)
    enc = tok(CALIB, return_tensors="pt", padding=True, add_special_tokens=False)
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        loss = model(**enc, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


@torch.no_grad()
def _naive_loss(model, tok, texts, skip: int | None = None) -> float:
    """Mean next-token CE from the full model's logits, with layer ``skip`` monkeypatched to identity."""
    layer = model.model.layers[skip] if skip is not None else None
    if layer is not None:
        layer.forward = lambda hidden_states, *a, **k: hidden_states
    try:
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        logits = model(**enc, use_cache=False).logits
    finally:
        if layer is not None:
            del layer.forward
    pos, targets = _next_token_targets(enc["input_ids"], enc["attention_mask"].bool())
    return torch.nn.functional.cross_entropy(logits[pos].float(), targets).item()


def test_skip_loss_equals_naive_bypass(tiny):
    model, tok = tiny
    imp = compute_importance(model, tok, CALIB, batch_size=8, max_length=512, cache=False, progress=False,
                             layer_score="skip_loss")
    base = _naive_loss(model, tok, CALIB)
    assert imp.meta["base_loss"] == pytest.approx(base, abs=1e-5)
    for i in range(model.config.num_hidden_layers):
        assert imp.layers[i].item() == pytest.approx(_naive_loss(model, tok, CALIB, skip=i) - base, abs=1e-5)
    # heads/neurons/channels do not depend on the layer score (replays are not counted twice)
    bi = compute_importance(model, tok, CALIB, batch_size=8, max_length=512, cache=False, progress=False)
    for name in ("heads", "neurons", "channels"):
        assert torch.equal(getattr(imp, name), getattr(bi, name))
    assert bi.meta["layer_score"] == "block_influence" and imp.meta["layer_score"] == "skip_loss"


def test_dead_layer_has_zero_skip_loss_and_is_pruned_first(tiny):
    model, tok = tiny
    _fit(model, tok)
    dead = 2
    with torch.no_grad():
        model.model.layers[dead].self_attn.o_proj.weight.zero_()  # the block writes nothing: identity
        model.model.layers[dead].mlp.down_proj.weight.zero_()
    imp = compute_importance(model, tok, CALIB, cache=False, progress=False, layer_score="skip_loss")
    assert abs(imp.layers[dead].item()) < 1e-5
    others = [imp.layers[i].item() for i in range(len(imp.layers)) if i != dead]
    assert min(others) > 1e-4  # every trained layer costs loss when skipped
    assert int(imp.layers.argmin()) == dead
    s = shape_of(model.config)
    a = adapter_for(model.config)
    target = a.total_params(dataclasses.replace(s, layers=s.layers - 1)) / a.total_params(s)
    new, report = prune_model(model, tok, target, calib_texts=CALIB, strategy="depth", cache=False,
                              progress=False, layer_score="skip_loss")
    assert new.config.num_hidden_layers == s.layers - 1
    assert dead not in new.taskdistill_kept["layers"]
    assert report["layer_score"] == "skip_loss"


def test_skip_loss_ignores_padding():
    model, tok = make_tiny_model("qwen2")
    one = compute_importance(model, tok, CALIB, batch_size=1, cache=False, progress=False, layer_score="skip_loss")
    eight = compute_importance(model, tok, CALIB, batch_size=8, cache=False, progress=False, layer_score="skip_loss")
    assert one.meta["loss_targets"] == eight.meta["loss_targets"]
    torch.testing.assert_close(one.layers, eight.layers, rtol=1e-4, atol=1e-5)


def test_cache_keys_differ_between_layer_scores():
    model, tok = make_tiny_model("llama")
    bi = compute_importance(model, tok, CALIB, progress=False)
    sl = compute_importance(model, tok, CALIB, progress=False, layer_score="skip_loss")
    assert sl.meta["key"] != bi.meta["key"] and sl.meta["cache"] != bi.meta["cache"]
    assert not torch.equal(sl.layers, bi.layers)
    again = compute_importance(model, tok, CALIB, progress=False, layer_score="skip_loss")  # from the cache
    assert again.meta["cache"] == sl.meta["cache"] and torch.equal(again.layers, sl.layers)
    assert again.meta["layer_score"] == "skip_loss"
    assert torch.equal(compute_importance(model, tok, CALIB, progress=False).layers, bi.layers)
    plan = plan_shape(model.config, 0.8, strategy="depth", tolerance=0.1)
    assert len(apply_plan(model, plan, sl).taskdistill_kept["layers"]) == plan.layers


def test_bad_layer_score_errors(tmp_path):
    model, tok = make_tiny_model("llama")
    with pytest.raises(ValueError, match="layer_score"):
        compute_importance(model, tok, CALIB, layer_score="cosine", cache=False)
    with pytest.raises(ValueError, match="method='activation'"):
        compute_importance(model, tok, method="magnitude", layer_score="skip_loss", cache=False)
    with pytest.raises(ValueError, match="layer_score"):
        prune_model(model, tok, 0.8, calib_texts=CALIB, layer_score="nope", cache=False, progress=False)
    res = CliRunner().invoke(app, ["prune", "--model", "tiny:llama", "--target", "0.8", "--out", str(tmp_path / "x"),
                                   "--layer-score", "nope"])
    assert res.exit_code == 2 and "layer" in res.output and not (tmp_path / "x").exists()


def test_cli_skip_loss(tmp_path):
    import pandas as pd

    from taskdistill.task import load_task

    LABELS = load_task("finheadlines").label_names
    calib = tmp_path / "train.parquet"
    rows = [{"headline": t[-60:], "label": LABELS[i % len(LABELS)]} for i, t in enumerate(CALIB)]
    pd.DataFrame(rows).to_parquet(calib)
    out = tmp_path / "s"
    res = CliRunner().invoke(app, ["prune", "--model", "tiny:llama", "--target", "0.8", "--strategy", "combined",
                                   "--calib", str(calib), "--n-calib", "8", "--layer-score", "skip_loss",
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "skip_loss" in res.output
    rep = json.loads((out / "prune_report.json").read_text())
    assert rep["layer_score"] == "skip_loss"
