"""Planner: exact targets, valid GQA shapes, the parameter formula, and clear errors."""

from __future__ import annotations

import pytest
import torch

from taskdistill.models import make_tiny_model
from taskdistill.models.arch import UnsupportedModelError, count_params
from taskdistill.models.tiny import tiny_config
from taskdistill.prune.adapters import adapter_for, shape_of
from taskdistill.prune.plan import PlanError, plan_shape

ARCHS = ["llama", "qwen2", "qwen3", "mistral"]


def _meta_count(config, non_embedding=False):
    from transformers import AutoModelForCausalLM

    return count_params(AutoModelForCausalLM.from_config(config), non_embedding=non_embedding)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("tied", [True, False])
def test_param_formula_matches_real_model(arch, tied):
    cfg = tiny_config(arch, tied=tied)
    s = shape_of(cfg)
    a = adapter_for(cfg)
    assert a.total_params(s) == _meta_count(cfg)
    assert a.total_params(s, non_embedding=True) == _meta_count(cfg, non_embedding=True)


def test_param_formula_llama_with_all_biases():
    cfg = tiny_config("llama")
    cfg.attention_bias = True
    cfg.mlp_bias = True
    assert adapter_for(cfg).total_params(shape_of(cfg)) == _meta_count(cfg)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("strategy", ["combined", "width"])
@pytest.mark.parametrize("target", [0.79, 0.58, 0.37, 0.16])
def test_targets_within_one_percent_and_gqa_valid(arch, strategy, target):
    cfg = tiny_config(arch)
    plan = plan_shape(cfg, target, strategy=strategy)
    ref = adapter_for(cfg).total_params(shape_of(cfg))
    assert abs(plan.params - target * ref) <= 0.01 * ref
    assert plan.heads % plan.kv_heads == 0
    assert plan.heads // plan.kv_heads <= cfg.num_attention_heads // cfg.num_key_value_heads
    assert plan.kv_heads <= cfg.num_key_value_heads
    assert plan.head_dim == shape_of(cfg).head_dim
    if strategy == "width":
        assert plan.layers == cfg.num_hidden_layers


def test_identity_at_full_size():
    cfg = tiny_config("qwen3")
    plan = plan_shape(cfg, 1.0)
    assert plan.is_identity and plan.fraction == 1.0


def test_depth_only_on_reachable_target_and_error_on_unreachable():
    cfg = tiny_config("llama", layers=12)
    a = adapter_for(cfg)
    s = shape_of(cfg)
    full = a.total_params(s)
    nine = a.total_params(s.__class__(**{**s.__dict__, "layers": 9}))
    plan = plan_shape(cfg, nine / full, strategy="depth")
    assert plan.layers == 9 and plan.hidden == s.hidden and plan.intermediate == s.intermediate
    # 4 layers of the default tiny model are ~22% of its params each: 50% falls between two depths
    with pytest.raises(PlanError, match="nearest reachable"):
        plan_shape(tiny_config("llama"), 0.5, strategy="depth")


def test_axes_restriction_heads_and_mlp_only():
    cfg = tiny_config("llama")
    plan = plan_shape(cfg, 0.8, axes=("heads", "mlp"))
    assert plan.hidden == cfg.hidden_size and plan.layers == cfg.num_hidden_layers
    assert plan.intermediate < cfg.intermediate_size


def test_reference_params_for_iterative_pruning():
    cfg = tiny_config("llama")
    ref = adapter_for(cfg).total_params(shape_of(cfg))
    first = plan_shape(cfg, 0.79)
    cfg2 = tiny_config("llama", hidden=first.hidden, intermediate=first.intermediate, layers=first.layers,
                       heads=first.heads, kv_heads=first.kv_heads)
    cfg2.head_dim = first.head_dim
    second = plan_shape(cfg2, 0.58, reference_params=ref)
    assert abs(second.params - 0.58 * ref) <= 0.01 * ref
    assert second.reference_params == ref
    with pytest.raises(PlanError, match="cannot grow"):
        plan_shape(cfg2, 0.9, reference_params=ref)


def test_non_embedding_target():
    cfg = tiny_config("qwen2")
    plan = plan_shape(cfg, 0.5, non_embedding=True)
    ref = adapter_for(cfg).total_params(shape_of(cfg), non_embedding=True)
    assert plan.reference_params == ref
    assert abs(plan.params - 0.5 * ref) <= 0.01 * ref


@pytest.mark.parametrize("bad", [0, -0.1, 1.01, 2, float("nan")])
def test_bad_targets(bad):
    with pytest.raises(PlanError, match="target"):
        plan_shape(tiny_config("llama"), bad)


def test_bad_strategy_and_axes():
    with pytest.raises(PlanError, match="strategy"):
        plan_shape(tiny_config("llama"), 0.5, strategy="random")
    with pytest.raises(PlanError, match="axes"):
        plan_shape(tiny_config("llama"), 0.5, axes=("embeddings",))


def test_unsupported_architecture():
    from transformers import GPT2Config

    with pytest.raises(UnsupportedModelError, match="gpt2"):
        plan_shape(GPT2Config(n_layer=2, n_embd=32, n_head=2), 0.5)


def test_plan_matches_model_after_apply():
    # a plan's parameter count is what the pruned model really has (apply_plan also asserts this)
    from taskdistill.prune import apply_plan, compute_importance

    model, tok = make_tiny_model("qwen2", tied=False)
    plan = plan_shape(model.config, 0.37)
    imp = compute_importance(model, tok, method="magnitude", cache=False)
    torch.manual_seed(0)
    assert count_params(apply_plan(model, plan, imp)) == plan.params
