"""Apply a ``PrunePlan`` physically: slice the weights, rebuild the model from a rewritten config.

We never mask and never patch modules in place. The pruned model is a *fresh* instance of the same
class built from the rewritten config (parameters on the meta device, then the sliced tensors assigned),
so every module attribute (``num_key_value_groups``, ``layer_idx``, sliding-window types, rotary sizes)
is exactly what ``from_pretrained`` would build from the saved config. That is what makes the exported
checkpoint reload bit-for-bit and generate with a KV cache after layers are removed.

Which units survive (the highest scores of an ``Importance``):
  - layers: the top-``layers`` by block influence, in their original order;
  - hidden channels: one global set (the residual stream is shared by every layer);
  - heads, per layer: the top-``kv_heads`` KV groups by the summed score of their query heads, then in each
    kept group its top-``heads/kv_heads`` query heads (same count in every group keeps GQA valid);
  - neurons, per layer: the top-``intermediate``.
"""

from __future__ import annotations

import torch

from taskdistill.models.arch import count_params
from taskdistill.prune.adapters import TOP_RULES, Shape, adapter_for, rewrite_config, shape_of
from taskdistill.prune.importance import Importance
from taskdistill.prune.plan import PrunePlan


def _top(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` largest scores, sorted ascending (stable: ties keep the lower index)."""
    order = torch.sort(scores.double(), descending=True, stable=True).indices[:k]
    return torch.sort(order).values


def select_heads(scores: torch.Tensor, kv_heads: int, heads: int, new_kv: int, new_heads: int):
    """(kept query heads, kept KV heads) for one layer, both ascending."""
    group = heads // kv_heads
    new_group = new_heads // new_kv
    per_group = scores.view(kv_heads, group)
    kv_keep = _top(per_group.sum(1), new_kv)
    q_keep = []
    for g in kv_keep.tolist():
        q_keep.extend((g * group + _top(per_group[g], new_group)).tolist())
    return torch.tensor(q_keep, dtype=torch.long), kv_keep


def _rows(head_idx: torch.Tensor, head_dim: int) -> torch.Tensor:
    """Row indices in a [n_heads * head_dim] projection for the given heads."""
    return (head_idx[:, None] * head_dim + torch.arange(head_dim)[None, :]).reshape(-1)


def _slice(t: torch.Tensor, rule: tuple[str | None, ...], idx: dict[str, torch.Tensor | None]) -> torch.Tensor:
    for dim, kind in enumerate(rule):
        sel = idx.get(kind) if kind else None
        if sel is not None:
            t = t.index_select(dim, sel)
    return t.contiguous().clone()


def _check_plan(plan: PrunePlan, s: Shape) -> None:
    if plan.head_dim != s.head_dim:
        raise ValueError(f"plan head_dim {plan.head_dim} != model head_dim {s.head_dim}")
    for name, new, old in (("layers", plan.layers, s.layers), ("hidden", plan.hidden, s.hidden),
                           ("heads", plan.heads, s.heads), ("kv_heads", plan.kv_heads, s.kv_heads),
                           ("intermediate", plan.intermediate, s.intermediate)):
        if not 1 <= new <= old:
            raise ValueError(f"plan {name}={new} is outside 1..{old} (the model being pruned); "
                             "was the plan made for a different model?")
    if plan.heads % plan.kv_heads or (s.heads // s.kv_heads) < plan.heads // plan.kv_heads:
        raise ValueError(f"plan heads={plan.heads}, kv_heads={plan.kv_heads} is not a valid GQA subset of "
                         f"{s.heads} heads / {s.kv_heads} KV heads")


@torch.no_grad()
def apply_plan(model, plan: PrunePlan, importance: Importance):
    """Return a new, physically smaller model of the same class (the input model is left untouched).

    An identity plan returns a copy with identical weights, so pruning to 100% is an exact no-op."""
    from accelerate import init_empty_weights

    adapter = adapter_for(model.config)
    s = shape_of(model.config)
    _check_plan(plan, s)
    importance.check_matches(model.config)

    kept_layers = _top(importance.layers, plan.layers).tolist()
    hidden_idx = _top(importance.channels, plan.hidden) if plan.hidden < s.hidden else None
    new_shape = Shape(plan.layers, plan.hidden, plan.heads, plan.kv_heads, plan.intermediate, s.head_dim,
                      s.vocab, s.tied)
    new_config = rewrite_config(model.config, new_shape, kept_layers)

    state = model.state_dict()
    rules = adapter.layer_rules()
    new_state: dict[str, torch.Tensor] = {}
    kept = {"layers": kept_layers, "hidden": hidden_idx.tolist() if hidden_idx is not None else None,
            "heads": [], "kv_heads": [], "neurons": []}
    layer_prefix = "model.layers."
    used: set[str] = set()
    for new_i, old_i in enumerate(kept_layers):
        q_keep, kv_keep = select_heads(importance.heads[old_i], s.kv_heads, s.heads, plan.kv_heads, plan.heads)
        idx = {
            "hidden": hidden_idx,
            "q": _rows(q_keep, s.head_dim) if plan.heads < s.heads else None,
            "kv": _rows(kv_keep, s.head_dim) if plan.kv_heads < s.kv_heads else None,
            "mlp": (_top(importance.neurons[old_i], plan.intermediate)
                    if plan.intermediate < s.intermediate else None),
        }
        kept["heads"].append(q_keep.tolist())
        kept["kv_heads"].append(kv_keep.tolist())
        kept["neurons"].append(idx["mlp"].tolist() if idx["mlp"] is not None else None)
        prefix = f"{layer_prefix}{old_i}."
        for name in [k for k in state if k.startswith(prefix)]:
            suffix = name[len(prefix):]
            if suffix not in rules:
                raise ValueError(f"don't know how to prune parameter {name!r} of a {adapter.model_type} model "
                                 "(unexpected module; refusing to copy it unsliced)")
            new_state[f"{layer_prefix}{new_i}.{suffix}"] = _slice(state[name], rules[suffix], idx)
            used.add(name)
    for name, rule in TOP_RULES.items():
        if name in state:
            new_state[name] = _slice(state[name], rule, {"hidden": hidden_idx})
            used.add(name)
    dropped = {f"{layer_prefix}{i}." for i in range(s.layers) if i not in kept_layers}
    unknown = [k for k in state if k not in used and not any(k.startswith(p) for p in dropped)]
    if unknown:
        raise ValueError(f"don't know how to prune parameters {unknown[:5]} of a {adapter.model_type} model")

    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    with init_empty_weights(include_buffers=False):
        new_model = type(model)._from_config(new_config, dtype=dtype)
    if s.tied:
        new_state.pop("lm_head.weight", None)
    missing, unexpected = new_model.load_state_dict(new_state, strict=False, assign=True)
    missing = [m for m in missing if not (s.tied and m == "lm_head.weight")]
    if missing or unexpected:
        raise RuntimeError(f"pruned state does not fit the rebuilt model: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}")
    if s.tied:
        new_model.tie_weights()
    new_model.to(device)
    new_model.eval()
    if hasattr(model, "generation_config") and model.generation_config is not None:
        new_model.generation_config = model.generation_config
    got = count_params(new_model, non_embedding=plan.non_embedding)
    if got != plan.params:
        raise RuntimeError(f"internal error: pruned model has {got:,} parameters, plan said {plan.params:,}")
    new_model.taskdistill_kept = kept  # which original units survived (indices into the input model)
    return new_model
