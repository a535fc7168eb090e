"""Which decoder architectures taskdistill supports, and how to check a config against them.

Pruning and distillation slice weights by name, so every supported family must share the Llama
decoder layout (embed_tokens, layers[i].self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, RMSNorms,
lm_head). The differences that matter (Qwen2's q/k/v biases, Qwen3's q/k norms, explicit head_dim)
are handled per family in ``taskdistill.prune``.
"""

from __future__ import annotations

from taskdistill.errors import TaskdistillError

SUPPORTED_ARCHS: dict[str, str] = {
    "llama": "Llama / SmolLM / SmolLM2",
    "qwen2": "Qwen2 / Qwen2.5",
    "qwen3": "Qwen3 (dense)",
    "mistral": "Mistral",
}


class UnsupportedModelError(TaskdistillError, ValueError):
    """The checkpoint's architecture is not one taskdistill can prune and distill."""


def check_supported(config, source: str = "model") -> str:
    """Return the config's ``model_type`` or raise naming the supported families."""
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_ARCHS:
        names = ", ".join(f"{k} ({v})" for k, v in SUPPORTED_ARCHS.items())
        raise UnsupportedModelError(
            f"{source}: architecture '{model_type}' is not supported; supported: {names}"
        )
    return model_type


def head_dim(config) -> int:
    """Attention head size; explicit in Qwen3/Mistral configs, derived for Llama."""
    hd = getattr(config, "head_dim", None)
    return int(hd) if hd else config.hidden_size // config.num_attention_heads


def count_params(model, non_embedding: bool = False) -> int:
    """Parameters as *stored* (tied embeddings counted once). ``non_embedding`` drops the input
    embedding and an untied lm_head, the convention of scaling-law papers."""
    seen: set[int] = set()
    total = 0
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        if non_embedding and (name.endswith("embed_tokens.weight") or name.endswith("lm_head.weight")):
            continue
        total += p.numel()
    return total
