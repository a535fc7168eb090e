"""One small adapter per supported decoder family: everything pruning needs to know that differs.

All four families share the Llama layout (``model.embed_tokens``, ``model.layers[i].self_attn.{q,k,v,o}_proj``,
``mlp.{gate,up,down}_proj``, two RMSNorms per layer, ``model.norm``, ``lm_head``). What differs is small and
lives here, so slicing (``apply``), parameter counting (``plan``) and importance hooks stay generic:

- Llama / SmolLM: optional biases on all four attention projections (``attention_bias``) and on the MLP
  (``mlp_bias``); ``head_dim`` may be implicit (``hidden / heads``), so a pruned config must state it;
  and ``LlamaConfig`` validates ``hidden % heads == 0`` (even with an explicit ``head_dim``), so the
  planner only offers hidden sizes divisible by the kept head count.
- Qwen2: q/k/v carry biases, o_proj does not; ``layer_types`` / ``max_window_layers`` describe sliding
  windows per layer and must follow the kept layers.
- Qwen3: explicit ``head_dim`` decoupled from hidden; per-head RMSNorms ``q_norm`` / ``k_norm`` over
  ``head_dim`` (untouched by head pruning since whole heads are kept or dropped); optional ``attention_bias``.
- Mistral: no biases; explicit ``head_dim``.

Each parameter of a decoder layer is described by a rule ``(dim0, dim1)`` naming which index set slices
each dimension (``hidden``, ``q`` = kept query-head rows, ``kv`` = kept key/value-head rows, ``mlp`` =
kept neurons, or ``None`` = untouched). A parameter with no rule is an error: silently copying an unknown
weight would give a checkpoint that loads but computes something else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from taskdistill.models.arch import check_supported
from taskdistill.models.arch import head_dim as _head_dim

# suffix of a decoder-layer parameter -> how each of its dimensions is sliced
_COMMON_LAYER_RULES: dict[str, tuple[str | None, ...]] = {
    "self_attn.q_proj.weight": ("q", "hidden"),
    "self_attn.k_proj.weight": ("kv", "hidden"),
    "self_attn.v_proj.weight": ("kv", "hidden"),
    "self_attn.o_proj.weight": ("hidden", "q"),
    "mlp.gate_proj.weight": ("mlp", "hidden"),
    "mlp.up_proj.weight": ("mlp", "hidden"),
    "mlp.down_proj.weight": ("hidden", "mlp"),
    "input_layernorm.weight": ("hidden",),
    "post_attention_layernorm.weight": ("hidden",),
}
_ATTN_BIAS_RULES = {
    "self_attn.q_proj.bias": ("q",),
    "self_attn.k_proj.bias": ("kv",),
    "self_attn.v_proj.bias": ("kv",),
    "self_attn.o_proj.bias": ("hidden",),
}
_MLP_BIAS_RULES = {
    "mlp.gate_proj.bias": ("mlp",),
    "mlp.up_proj.bias": ("mlp",),
    "mlp.down_proj.bias": ("hidden",),
}
_QK_NORM_RULES = {"self_attn.q_norm.weight": (None,), "self_attn.k_norm.weight": (None,)}
# parameters outside the decoder layers
TOP_RULES: dict[str, tuple[str | None, ...]] = {
    "model.embed_tokens.weight": (None, "hidden"),
    "model.norm.weight": ("hidden",),
    "lm_head.weight": (None, "hidden"),
}


@dataclass(frozen=True)
class Shape:
    """The uniform shape a config describes (the five numbers pruning changes, plus fixed ones)."""

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    intermediate: int
    head_dim: int
    vocab: int
    tied: bool

    def as_dict(self) -> dict:
        return {"layers": self.layers, "hidden": self.hidden, "heads": self.heads,
                "kv_heads": self.kv_heads, "intermediate": self.intermediate, "head_dim": self.head_dim}


@dataclass(frozen=True)
class ArchAdapter:
    """Per-family facts: which biases/norms exist and which config fields follow the layer count."""

    model_type: str
    qkv_bias: bool = False  # biases on q/k/v
    o_bias: bool = False  # bias on o_proj
    mlp_bias: bool = False
    qk_norm: bool = False  # Qwen3 per-head q/k RMSNorm
    layer_list_fields: tuple[str, ...] = field(default_factory=tuple)  # per-layer lists in the config
    # LlamaConfig refuses hidden_size % num_attention_heads != 0 even with an explicit head_dim
    hidden_divisible_by_heads: bool = False

    def layer_rules(self) -> dict[str, tuple[str | None, ...]]:
        rules = dict(_COMMON_LAYER_RULES)
        if self.qkv_bias:
            rules.update({k: v for k, v in _ATTN_BIAS_RULES.items() if "o_proj" not in k})
        if self.o_bias:
            rules["self_attn.o_proj.bias"] = _ATTN_BIAS_RULES["self_attn.o_proj.bias"]
        if self.mlp_bias:
            rules.update(_MLP_BIAS_RULES)
        if self.qk_norm:
            rules.update(_QK_NORM_RULES)
        return rules

    def layer_params(self, hidden: int, heads: int, kv_heads: int, intermediate: int, head_dim: int) -> int:
        """Exact parameter count of one decoder layer of this family (checked against a real model in
        the tests, and after every ``apply_plan``)."""
        n = hidden * head_dim * (2 * heads + 2 * kv_heads)  # q, k, v, o weights
        if self.qkv_bias:
            n += head_dim * (heads + 2 * kv_heads)
        if self.o_bias:
            n += hidden
        n += 3 * hidden * intermediate
        if self.mlp_bias:
            n += 2 * intermediate + hidden
        if self.qk_norm:
            n += 2 * head_dim
        return n + 2 * hidden  # two RMSNorms

    def total_params(self, shape: Shape, non_embedding: bool = False) -> int:
        """Parameters as stored (tied embeddings once), like ``models.arch.count_params``."""
        per_layer = self.layer_params(shape.hidden, shape.heads, shape.kv_heads, shape.intermediate,
                                      shape.head_dim)
        n = shape.layers * per_layer + shape.hidden  # + final norm
        if not non_embedding:
            n += shape.vocab * shape.hidden * (1 if shape.tied else 2)
        return n


def adapter_for(config) -> ArchAdapter:
    """The adapter for a config; ``UnsupportedModelError`` (naming supported families) otherwise."""
    model_type = check_supported(config)
    attn_bias = bool(getattr(config, "attention_bias", False))
    if model_type == "llama":
        return ArchAdapter("llama", qkv_bias=attn_bias, o_bias=attn_bias,
                           mlp_bias=bool(getattr(config, "mlp_bias", False)), hidden_divisible_by_heads=True)
    if model_type == "qwen2":
        return ArchAdapter("qwen2", qkv_bias=True, layer_list_fields=("layer_types",))
    if model_type == "qwen3":
        return ArchAdapter("qwen3", qkv_bias=attn_bias, o_bias=attn_bias, qk_norm=True,
                           layer_list_fields=("layer_types",))
    if model_type == "mistral":
        return ArchAdapter("mistral")
    raise AssertionError(model_type)  # check_supported already refused anything else


def shape_of(config) -> Shape:
    """Read the uniform shape from a (supported) config."""
    check_supported(config)
    return Shape(
        layers=int(config.num_hidden_layers),
        hidden=int(config.hidden_size),
        heads=int(config.num_attention_heads),
        kv_heads=int(getattr(config, "num_key_value_heads", None) or config.num_attention_heads),
        intermediate=int(config.intermediate_size),
        head_dim=_head_dim(config),
        vocab=int(config.vocab_size),
        tied=bool(getattr(config, "tie_word_embeddings", False)),
    )


def rewrite_config(config, shape: Shape, kept_layers: list[int]):
    """A new config of the same class describing ``shape``; per-layer lists follow ``kept_layers``.

    ``head_dim`` is always written explicitly: Llama derives it from ``hidden / heads`` when absent, and
    after hidden or head pruning that quotient is no longer the size the weights were trained with."""
    adapter = adapter_for(config)
    d = config.to_dict()
    for k in ("model_type", "transformers_version"):
        d.pop(k, None)
    d.update(
        num_hidden_layers=shape.layers,
        hidden_size=shape.hidden,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        intermediate_size=shape.intermediate,
        head_dim=shape.head_dim,
    )
    for name in adapter.layer_list_fields:
        values = d.get(name)
        if values is not None:
            d[name] = [values[i] for i in kept_layers]
    if "max_window_layers" in d and d["max_window_layers"] is not None:
        # the first max_window_layers layers use full attention; count how many kept layers were among them
        d["max_window_layers"] = sum(1 for i in kept_layers if i < d["max_window_layers"])
    return type(config)(**d)
