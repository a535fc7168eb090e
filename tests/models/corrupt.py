"""Ways to corrupt a saved tiny checkpoint, shared by the strict-loading and reliability tests."""

from __future__ import annotations

import torch
from safetensors.torch import load_file, save_file

TENSOR = "model.layers.1.mlp.up_proj.weight"


def save_clean(d):
    """A clean tiny llama checkpoint in ``d`` (untied, so lm_head is a tensor of its own)."""
    from taskdistill.models import make_tiny_model

    model, tok = make_tiny_model("llama", tied=False)
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


def _rewrite(d, edit):
    sd = load_file(d / "model.safetensors")
    edit(sd)
    save_file(sd, d / "model.safetensors", metadata={"format": "pt"})


def missing(d):
    _rewrite(d, lambda sd: sd.pop(TENSOR))


def wrong_shape(d):
    _rewrite(d, lambda sd: sd.__setitem__(TENSOR, torch.zeros(3, 3)))


def truncated(d):
    f = d / "model.safetensors"
    f.write_bytes(f.read_bytes()[: f.stat().st_size * 2 // 3])


def unexpected(d):
    _rewrite(d, lambda sd: sd.__setitem__("model.layers.9.mlp.up_proj.weight", torch.zeros(2, 2)))
