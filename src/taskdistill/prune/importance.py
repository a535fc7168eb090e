"""Importance scores for every prunable unit: attention heads, MLP neurons, hidden channels, layers.

Two methods:

``activation`` (default; Minitron-style, computed from forward passes over calibration text):
  - head ``h`` of layer ``l``: mean over tokens of ``||o_proj_h(attn_h)||_2``, the norm of what the head
    writes into the residual stream. Minitron scores the head's attention output before ``o_proj``; we
    include the head's ``o_proj`` slice so a head whose output projection is dead scores zero.
  - neuron ``i``: mean over tokens of ``|act_i| * ||W_down[:, i]||_2`` (activation feeding ``down_proj``
    times the size of what it writes), for the same reason.
  - hidden channel ``c``: sum over every RMSNorm output (two per layer plus the final one) of the mean
    ``|x_c|``: Minitron's embedding-channel score; the norms feed every matrix that reads the channel.
  - layer: block influence (ShortGPT), the mean over tokens of ``1 - cos(h_in, h_out)``; a layer that
    barely changes its input is the cheapest to drop.
  Padding positions are masked out of every mean.

``magnitude`` (data-free baseline): squared L2 norms of the weights that belong to each unit (a head's
  q rows and o columns; a neuron's gate/up rows and down column; a channel's column/row in every matrix,
  the embedding and the norms), and for a layer the norm of what it can write (``||W_o|| * ||W_down||``).

Scores are cached under ``stage_dir("importance")`` keyed by (weights hash, calibration-text hash,
method, max_length), so a grid of pruning ratios costs one calibration pass per model state, and
iterative pruning (a new, distilled model state) recomputes them automatically.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from taskdistill.cache import atomic_write_bytes, content_hash, stage_dir
from taskdistill.prune.adapters import adapter_for, shape_of

METHODS = ("activation", "magnitude")
CACHE_VERSION = 1  # bump when the scoring definition changes, so stale caches are not reused


@dataclass
class Importance:
    """Per-unit scores; higher = more important. Shapes follow the model they were computed on."""

    heads: torch.Tensor  # [layers, heads]
    neurons: torch.Tensor  # [layers, intermediate]
    channels: torch.Tensor  # [hidden]
    layers: torch.Tensor  # [layers]
    method: str
    meta: dict = field(default_factory=dict)

    def check_matches(self, config) -> None:
        """Raise if these scores were computed on a model of a different shape."""
        s = shape_of(config)
        want = {"heads": (s.layers, s.heads), "neurons": (s.layers, s.intermediate),
                "channels": (s.hidden,), "layers": (s.layers,)}
        for name, shape in want.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ValueError(f"importance '{name}' has shape {got} but the model needs {shape}: "
                                 "recompute importance on the model being pruned")

    def save(self, path: str | Path) -> Path:
        from safetensors.torch import save

        tensors = {k: getattr(self, k).contiguous().float() for k in ("heads", "neurons", "channels", "layers")}
        meta = {"method": self.method, "meta": json.dumps(self.meta, sort_keys=True)}
        return atomic_write_bytes(path, save(tensors, metadata=meta))

    @classmethod
    def load(cls, path: str | Path) -> Importance:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            t = {k: f.get_tensor(k) for k in ("heads", "neurons", "channels", "layers")}
        return cls(method=meta.get("method", "?"), meta=json.loads(meta.get("meta", "{}")), **t)


def model_hash(model) -> str:
    """sha256 over the config and every stored tensor (tied weights once): names the model *state*."""
    h = hashlib.sha256()
    h.update(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    seen: set[int] = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        h.update(name.encode())
        t = p.detach().to("cpu").contiguous()
        h.update(str(t.dtype).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def texts_hash(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def _layers(model):
    return model.model.layers


@torch.no_grad()
def magnitude_importance(model) -> Importance:
    """Data-free scores from weight norms (see module docstring)."""
    s = shape_of(model.config)
    d = s.head_dim
    heads, neurons, layers = [], [], []
    channels = model.model.embed_tokens.weight.float().pow(2).sum(0)
    channels = channels + model.model.norm.weight.float().pow(2)
    if not s.tied:
        channels = channels + model.lm_head.weight.float().pow(2).sum(0)
    for layer in _layers(model):
        att, mlp = layer.self_attn, layer.mlp
        q = att.q_proj.weight.float().view(s.heads, d, -1).pow(2).sum((1, 2))
        o = att.o_proj.weight.float().view(-1, s.heads, d).pow(2).sum((0, 2))
        heads.append(q + o)
        neurons.append(mlp.gate_proj.weight.float().pow(2).sum(1) + mlp.up_proj.weight.float().pow(2).sum(1)
                       + mlp.down_proj.weight.float().pow(2).sum(0))
        for lin in (att.q_proj, att.k_proj, att.v_proj, mlp.gate_proj, mlp.up_proj):
            channels = channels + lin.weight.float().pow(2).sum(0)
        for lin in (att.o_proj, mlp.down_proj):
            channels = channels + lin.weight.float().pow(2).sum(1)
        channels = channels + layer.input_layernorm.weight.float().pow(2)
        channels = channels + layer.post_attention_layernorm.weight.float().pow(2)
        layers.append(att.o_proj.weight.float().norm() * mlp.down_proj.weight.float().norm())
    return Importance(heads=torch.stack(heads), neurons=torch.stack(neurons), channels=channels,
                      layers=torch.stack(layers), method="magnitude")


class _Collector:
    """Forward hooks accumulating masked per-token statistics during calibration passes."""

    def __init__(self, model):
        self.model = model
        s = shape_of(model.config)
        self.s = s
        L = s.layers
        self.heads = torch.zeros(L, s.heads, dtype=torch.float64)
        self.neurons = torch.zeros(L, s.intermediate, dtype=torch.float64)
        self.channels = torch.zeros(s.hidden, dtype=torch.float64)
        self.layers = torch.zeros(L, dtype=torch.float64)
        self.tokens = 0
        self.mask: torch.Tensor | None = None  # [B, S] bool, set per batch
        self.handles = []
        self._inputs: dict[int, torch.Tensor] = {}
        # per-head slices of o_proj and per-neuron norms of down_proj columns, fixed during calibration
        self.o_heads = [layer.self_attn.o_proj.weight.detach().float().view(-1, s.heads, s.head_dim)
                        .permute(1, 2, 0) for layer in _layers(model)]  # [heads, d, hidden]
        self.down_norms = [layer.mlp.down_proj.weight.detach().float().norm(dim=0)
                           for layer in _layers(model)]  # [intermediate]

    def _valid(self, x: torch.Tensor) -> torch.Tensor:
        """Rows of ``x`` [B, S, ...] at non-padding positions, flattened to [N, ...] in float32."""
        return x[self.mask].float()

    def install(self) -> None:
        for i, layer in enumerate(_layers(self.model)):
            self.handles.append(layer.self_attn.o_proj.register_forward_pre_hook(self._head_hook(i)))
            self.handles.append(layer.mlp.down_proj.register_forward_pre_hook(self._neuron_hook(i)))
            for norm in (layer.input_layernorm, layer.post_attention_layernorm):
                self.handles.append(norm.register_forward_hook(self._channel_hook))
            self.handles.append(layer.register_forward_pre_hook(self._layer_in_hook(i), with_kwargs=True))
            self.handles.append(layer.register_forward_hook(self._layer_out_hook(i)))
        self.handles.append(self.model.model.norm.register_forward_hook(self._channel_hook))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def _head_hook(self, i):
        def hook(module, args):
            x = self._valid(args[0]).view(-1, self.s.heads, self.s.head_dim)  # [N, heads, d]
            out = torch.einsum("nhd,hdk->nhk", x, self.o_heads[i])  # each head's write to the residual
            self.heads[i] += out.norm(dim=-1).sum(0).double()
        return hook

    def _neuron_hook(self, i):
        def hook(module, args):
            x = self._valid(args[0])  # [N, intermediate]
            self.neurons[i] += (x.abs().sum(0) * self.down_norms[i]).double()
        return hook

    def _channel_hook(self, module, args, output):
        self.channels += self._valid(output).abs().sum(0).double()

    def _layer_in_hook(self, i):
        def hook(module, args, kwargs):
            self._inputs[i] = args[0] if args else kwargs["hidden_states"]
        return hook

    def _layer_out_hook(self, i):
        def hook(module, args, output):
            out = output[0] if isinstance(output, tuple) else output
            h_in, h_out = self._valid(self._inputs.pop(i)), self._valid(out)
            cos = torch.nn.functional.cosine_similarity(h_in, h_out, dim=-1, eps=1e-8)
            self.layers[i] += (1.0 - cos).sum().double()
        return hook

    def result(self) -> Importance:
        n = max(self.tokens, 1)
        return Importance(heads=(self.heads / n).float(), neurons=(self.neurons / n).float(),
                          channels=(self.channels / n).float(), layers=(self.layers / n).float(),
                          method="activation", meta={"tokens": self.tokens})


@torch.no_grad()
def activation_importance(model, tokenizer, calib_texts: list[str], *, batch_size: int = 8,
                          max_length: int = 64, progress: bool = True) -> Importance:
    """Run the calibration texts through the model with hooks; see the module docstring."""
    if not calib_texts:
        raise ValueError("activation importance needs at least one calibration text (calib_texts is empty)")
    from rich.progress import Progress

    col = _Collector(model)
    col.install()
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        with Progress(transient=True, disable=not progress) as bar:
            task = bar.add_task("importance (activation)", total=len(calib_texts))
            for start in range(0, len(calib_texts), batch_size):
                chunk = calib_texts[start:start + batch_size]
                enc = tokenizer(chunk, return_tensors="pt", padding=True, truncation=True,
                                max_length=max_length, add_special_tokens=False)
                mask = enc["attention_mask"].bool()
                col.mask = mask.to(device)
                col.tokens += int(mask.sum())
                # the decoder only: importance never needs logits, and the vocab projection is ~20% of
                # SmolLM2's forward FLOPs (49,152 x 576 per token)
                model.model(input_ids=enc["input_ids"].to(device),
                            attention_mask=enc["attention_mask"].to(device), use_cache=False)
                bar.advance(task, len(chunk))
    finally:
        col.remove()
        model.train(was_training)
    if col.tokens == 0:
        raise ValueError("calibration texts tokenised to zero tokens")
    return col.result()


def compute_importance(model, tokenizer, calib_texts: list[str] | None = None, *, method: str = "activation",
                       batch_size: int = 8, max_length: int = 64, cache: bool = True,
                       progress: bool = True) -> Importance:
    """Importance of every head, neuron, hidden channel and layer of ``model`` (cached on disk).

    The cache key is (weights hash, calibration-text hash, method, max_length): the same model state and
    calibration set never pay for a second calibration pass, whatever ratio is pruned next."""
    if method not in METHODS:
        raise ValueError(f"unknown importance method {method!r}; choose one of {METHODS}")
    adapter_for(model.config)  # unsupported architecture -> clear error before any work
    texts = list(calib_texts or []) if method == "activation" else []
    if method == "activation" and not texts:
        raise ValueError("method 'activation' needs calib_texts (in-domain prompts); "
                         "use method='magnitude' for a data-free score")
    key = content_hash(CACHE_VERSION, model_hash(model), texts_hash(texts), method,
                       max_length if texts else None)
    path = stage_dir("importance") / f"{key}.safetensors"
    if cache and path.exists():
        imp = Importance.load(path)
        imp.meta["cache"] = str(path)
        return imp
    if method == "magnitude":
        imp = magnitude_importance(model)
    else:
        imp = activation_importance(model, tokenizer, texts, batch_size=batch_size, max_length=max_length,
                                    progress=progress)
    imp.meta.update({"key": key, "texts": len(texts), "max_length": max_length})
    if cache:
        imp.save(path)
        imp.meta["cache"] = str(path)
    return imp
