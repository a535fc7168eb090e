"""Importance: caching, masking of padding, methods, errors."""

from __future__ import annotations

import pytest
import torch

from taskdistill.models import make_tiny_model
from taskdistill.prune.importance import Importance, compute_importance

from .helpers import CALIB


def test_shapes_and_positive(tiny):
    model, tok = tiny
    imp = compute_importance(model, tok, CALIB, cache=False, progress=False)
    imp.check_matches(model.config)
    c = model.config
    assert imp.heads.shape == (c.num_hidden_layers, c.num_attention_heads)
    assert imp.neurons.shape == (c.num_hidden_layers, c.intermediate_size)
    for t in (imp.heads, imp.neurons, imp.channels, imp.layers):
        assert torch.isfinite(t).all() and (t > 0).all()


def test_cache_roundtrip_and_key():
    model, tok = make_tiny_model("llama")
    a = compute_importance(model, tok, CALIB, progress=False)
    assert a.meta["cache"].endswith(".safetensors")
    b = compute_importance(model, tok, CALIB, progress=False)
    assert b.meta["cache"] == a.meta["cache"]
    assert torch.equal(a.heads, b.heads) and torch.equal(a.layers, b.layers)
    c = compute_importance(model, tok, CALIB[:-1], progress=False)  # other calibration data -> other key
    assert c.meta["key"] != a.meta["key"]
    with torch.no_grad():
        model.model.norm.weight.mul_(1.5)  # other weights -> other key
    d = compute_importance(model, tok, CALIB, progress=False)
    assert d.meta["key"] != a.meta["key"]
    m = compute_importance(model, tok, method="magnitude", progress=False)
    assert m.meta["key"] not in (a.meta["key"], d.meta["key"])
    loaded = Importance.load(a.meta["cache"])
    assert loaded.method == "activation" and torch.equal(loaded.neurons, a.neurons)


def test_padding_is_masked():
    # the same texts in batches of 1 (no padding) and of 8 (left padding) give the same scores
    model, tok = make_tiny_model("qwen2")
    one = compute_importance(model, tok, CALIB, batch_size=1, cache=False, progress=False)
    eight = compute_importance(model, tok, CALIB, batch_size=8, cache=False, progress=False)
    for name in ("heads", "neurons", "channels", "layers"):
        torch.testing.assert_close(getattr(one, name), getattr(eight, name), rtol=1e-4, atol=1e-5)


def test_errors():
    model, tok = make_tiny_model("llama")
    with pytest.raises(ValueError, match="method"):
        compute_importance(model, tok, CALIB, method="taylor")
    with pytest.raises(ValueError, match="calib_texts"):
        compute_importance(model, tok, [], method="activation")
    imp = compute_importance(model, tok, method="magnitude", cache=False)
    other, _ = make_tiny_model("llama", intermediate=96)
    with pytest.raises(ValueError, match="neurons"):
        imp.check_matches(other.config)
