"""Physical pruning on tiny Llama / Qwen2 / Qwen3 (+ Mistral, untied): every axis, exact no-op,
useless units pruned first, reload equivalence, KV-cache generation, iterative pruning."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from transformers import AutoModelForCausalLM

from taskdistill.models import make_tiny_model
from taskdistill.models.arch import count_params
from taskdistill.prune import apply_plan, compute_importance, plan_shape, prune_model, save_pruned
from taskdistill.prune.adapters import adapter_for, shape_of

from .helpers import CALIB, logits


def _imp(model, tok):
    return compute_importance(model, tok, CALIB, cache=False, progress=False)


def _frac_of(model, **changes):
    s = shape_of(model.config)
    a = adapter_for(model.config)
    return a.total_params(dataclasses.replace(s, **changes)) / a.total_params(s)


def _check_target(model, new, target):
    ref = count_params(model)
    assert abs(count_params(new) - target * ref) <= 0.01 * ref


@pytest.mark.parametrize("axis", ["mlp", "heads", "hidden", "layers", "combined"])
def test_each_axis_hits_target(tiny, axis):
    model, tok = tiny
    if axis == "heads":  # heads are coarse: ask for exactly one query head per KV group
        target, kw = _frac_of(model, heads=model.config.num_key_value_heads), {"axes": ("heads",)}
    elif axis == "hidden":  # hidden alone moves every matrix at once: steps of 8 channels are ~6% here
        target, kw = _frac_of(model, hidden=48), {"axes": ("hidden",)}
    elif axis == "layers":
        target, kw = _frac_of(model, layers=3), {"strategy": "depth"}
    elif axis == "combined":
        target, kw = 0.37, {}
    else:
        target, kw = 0.7, {"axes": (axis,)}
    new, report = prune_model(model, tok, target, calib_texts=CALIB, cache=False, progress=False, **kw)
    _check_target(model, new, target)
    c, c0 = new.config, model.config
    changed = {k for k in ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size")
               if getattr(c, k) != getattr(c0, k)}
    expect = {"mlp": {"intermediate_size"}, "heads": {"num_attention_heads"}, "hidden": {"hidden_size"},
              "layers": {"num_hidden_layers"}}.get(axis)
    if expect:
        assert changed == expect
    assert c.num_attention_heads % c.num_key_value_heads == 0
    assert c.head_dim == shape_of(c0).head_dim
    out, mask = logits(new, tok)
    assert torch.isfinite(out[mask]).all()
    assert report["after"]["params"] == count_params(new)


def test_full_size_is_exact_noop(tiny):
    model, tok = tiny
    new, _ = prune_model(model, tok, 1.0, calib_texts=CALIB, cache=False, progress=False)
    assert new is not model
    a, mask = logits(model, tok)
    b, _ = logits(new, tok)
    assert torch.equal(a[mask], b[mask])
    sd, nsd = model.state_dict(), new.state_dict()
    assert sd.keys() == nsd.keys() and all(torch.equal(sd[k], nsd[k]) for k in sd)


def test_useless_units_are_pruned_first(tiny):
    model, tok = tiny
    s = shape_of(model.config)
    dead_neuron, dead_head, dead_layer, dead_channel = 5, 1, 2, 7
    with torch.no_grad():
        for layer in model.model.layers:
            layer.mlp.down_proj.weight[:, dead_neuron] = 0  # neuron writes nothing
            layer.self_attn.o_proj.weight[:, dead_head * s.head_dim:(dead_head + 1) * s.head_dim] = 0
            layer.self_attn.o_proj.weight[dead_channel] = 0  # nothing writes into the channel...
            layer.mlp.down_proj.weight[dead_channel] = 0
        model.model.embed_tokens.weight[:, dead_channel] = 0  # ...and it starts at zero
        model.model.layers[dead_layer].self_attn.o_proj.weight.zero_()  # block = identity
        model.model.layers[dead_layer].mlp.down_proj.weight.zero_()
    imp = _imp(model, tok)
    kept_head_plan = plan_shape(model.config, _frac_of(model, heads=s.heads - s.kv_heads), axes=("heads",))
    assert kept_head_plan.kv_heads == s.kv_heads  # one query head dropped from every group
    new = apply_plan(model, kept_head_plan, imp)
    # (in the dead layer every unit scores zero, so only the other layers say anything)
    live = [i for i in range(s.layers) if i != dead_layer]
    assert all(dead_head not in new.taskdistill_kept["heads"][i] for i in live)
    mlp_plan = plan_shape(model.config, _frac_of(model, intermediate=s.intermediate - 8), axes=("mlp",), multiple=8)
    new = apply_plan(model, mlp_plan, imp)
    assert all(dead_neuron not in new.taskdistill_kept["neurons"][i] for i in live)
    depth_plan = plan_shape(model.config, _frac_of(model, layers=s.layers - 1), strategy="depth")
    new = apply_plan(model, depth_plan, imp)
    assert dead_layer not in new.taskdistill_kept["layers"]
    hid_plan = plan_shape(model.config, _frac_of(model, hidden=s.hidden - 8), axes=("hidden",))
    new = apply_plan(model, hid_plan, imp)
    assert dead_channel not in new.taskdistill_kept["hidden"]


def test_gqa_heads_follow_their_groups():
    model, tok = make_tiny_model("llama", heads=8, kv_heads=2)
    imp = _imp(model, tok)
    plan = plan_shape(model.config, _frac_of(model, heads=4, kv_heads=2), axes=("heads",))
    new = apply_plan(model, plan, imp)
    for heads in new.taskdistill_kept["heads"]:
        assert sum(h < 4 for h in heads) == 2 and sum(h >= 4 for h in heads) == 2  # 2 per group
    plan = plan_shape(model.config, _frac_of(model, heads=4, kv_heads=1), axes=("heads",))
    assert (plan.heads, plan.kv_heads) == (4, 1)
    new = apply_plan(model, plan, imp)
    for heads, kv in zip(new.taskdistill_kept["heads"], new.taskdistill_kept["kv_heads"], strict=True):
        assert all(h // 4 == kv[0] for h in heads)  # a whole KV group with all its query heads
    assert new.model.layers[0].self_attn.num_key_value_groups == 4


@pytest.mark.parametrize("arch,tied", [("llama", True), ("qwen2", False), ("qwen3", True), ("qwen3", False)])
def test_reload_equivalence_and_cached_generation(arch, tied, tmp_path):
    model, tok = make_tiny_model(arch, tied=tied)
    new, report = prune_model(model, tok, 0.37, calib_texts=CALIB, cache=False, progress=False)
    assert new.config.num_hidden_layers < model.config.num_hidden_layers  # depth pruned too
    out = save_pruned(new, tok, tmp_path / "student", report)
    back = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    assert (back.lm_head.weight is back.model.embed_tokens.weight) == tied
    a, mask = logits(new, tok)
    b, _ = logits(back, tok)
    assert (a[mask] - b[mask]).abs().max().item() <= 1e-5
    enc = tok(CALIB[:2], return_tensors="pt", padding=True, add_special_tokens=False)
    kw = dict(max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    with_cache = back.generate(**enc, use_cache=True, **kw)
    without = back.generate(**enc, use_cache=False, **kw)
    assert torch.equal(with_cache, without)
    assert (out / "prune_report.json").is_file()
    with pytest.raises(FileExistsError):
        save_pruned(new, tok, out, report)


def test_mistral_and_iterative_pruning():
    model, tok = make_tiny_model("mistral", tied=False)
    teacher_params = count_params(model)
    s1, _ = prune_model(model, tok, 0.79, calib_texts=CALIB, cache=False, progress=False)
    s2, rep = prune_model(s1, tok, 0.58, calib_texts=CALIB, cache=False, progress=False,
                          reference_params=teacher_params)
    assert abs(count_params(s2) - 0.58 * teacher_params) <= 0.01 * teacher_params
    assert rep["reference_params"] == teacher_params
    out, mask = logits(s2, tok)
    assert torch.isfinite(out[mask]).all()
