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
  - layer, ``layer_score="block_influence"`` (default): ShortGPT's block influence, the mean over tokens
    of ``1 - cos(h_in, h_out)``; a layer that barely changes its input is the cheapest to drop. Free: it
    comes out of the same pass.
  - layer, ``layer_score="skip_loss"``: the increase of the next-token cross-entropy on the calibration
    texts when the layer is bypassed (identity), ``CE(skip l) - CE(full)``. It measures what depth
    pruning actually destroys, including effects that a small cosine change hides (a layer that turns
    the residual by a few degrees can still decide the next token). It costs one extra partial forward
    pass per layer (the layers after ``l`` plus the vocabulary projection, replayed from the cached
    input of layer ``l``): about ``n_layers / 2`` times the calibration pass, so it is meant for depth
    pruning; heads, neurons and channels are scored exactly as with block influence.
  Padding positions are masked out of every mean (and out of the loss targets).

``magnitude`` (data-free baseline): squared L2 norms of the weights that belong to each unit (a head's
  q rows and o columns; a neuron's gate/up rows and down column; a channel's column/row in every matrix,
  the embedding and the norms), and for a layer the norm of what it can write (``||W_o|| * ||W_down||``).

Scores are cached under ``stage_dir("importance")`` keyed by (weights hash, calibration-text hash,
method, max_length, layer score, task hash), so a grid of pruning ratios costs one calibration pass per model state, and
iterative pruning (a new, distilled model state) recomputes them automatically.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from taskdistill.cache import atomic_write_bytes, content_hash, stage_dir
from taskdistill.models.identity import model_hash
from taskdistill.prune.adapters import adapter_for, shape_of

METHODS = ("activation", "magnitude")
LAYER_SCORES = ("block_influence", "skip_loss")
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
        self.active = True  # off while skip-loss replays run the layers again
        self.capture = False  # keep every layer's call (args, kwargs) of the current batch for replays
        self.calls: dict[int, tuple[tuple, dict]] = {}
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
            if not self.active:
                return
            x = self._valid(args[0]).view(-1, self.s.heads, self.s.head_dim)  # [N, heads, d]
            out = torch.einsum("nhd,hdk->nhk", x, self.o_heads[i])  # each head's write to the residual
            self.heads[i] += out.norm(dim=-1).sum(0).double()
        return hook

    def _neuron_hook(self, i):
        def hook(module, args):
            if not self.active:
                return
            x = self._valid(args[0])  # [N, intermediate]
            self.neurons[i] += (x.abs().sum(0) * self.down_norms[i]).double()
        return hook

    def _channel_hook(self, module, args, output):
        if not self.active:
            return
        self.channels += self._valid(output).abs().sum(0).double()

    def _layer_in_hook(self, i):
        def hook(module, args, kwargs):
            if not self.active:
                return
            self._inputs[i] = _layer_input((args, kwargs))
            if self.capture:
                self.calls[i] = (args, kwargs)
        return hook

    def _layer_out_hook(self, i):
        def hook(module, args, output):
            if not self.active:
                return
            out = output[0] if isinstance(output, tuple) else output
            h_in, h_out = self._valid(self._inputs.pop(i)), self._valid(out)
            cos = torch.nn.functional.cosine_similarity(h_in, h_out, dim=-1, eps=1e-8)
            self.layers[i] += (1.0 - cos).sum().double()
        return hook

    def result(self) -> Importance:
        n = max(self.tokens, 1)
        return Importance(heads=(self.heads / n).float(), neurons=(self.neurons / n).float(),
                          channels=(self.channels / n).float(), layers=(self.layers / n).float(),
                          method="activation", meta={"tokens": self.tokens, "layer_score": "block_influence"})


def _next_token_targets(input_ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(positions [B, S] bool, targets [N]): every position whose next token is real text predicts it.

    Both the position and its successor must be non-padding, so left or right padding never becomes a
    target and a pad never serves as context for one."""
    pos = torch.zeros_like(mask)
    pos[:, :-1] = mask[:, :-1] & mask[:, 1:]
    return pos, input_ids[:, 1:][pos[:, :-1]]


def _loss_sum(model, hidden: torch.Tensor, pos: torch.Tensor, targets: torch.Tensor) -> float:
    """Summed next-token cross-entropy from final-norm outputs ``hidden`` [B, S, H].

    The vocabulary projection runs only on the target positions: on SmolLM2 the 49,152-row head is the
    largest single matrix, and padding/last positions need no logits."""
    logits = model.lm_head(hidden[pos]).float()
    return float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))


def _layer_input(call: tuple[tuple, dict]) -> torch.Tensor:
    """The hidden states a decoder layer was called with (positionally or as a keyword)."""
    args, kwargs = call
    return args[0] if args else kwargs["hidden_states"]


def _replay_from(model, calls: dict[int, tuple[tuple, dict]], start: int, hidden: torch.Tensor,
                 skip: int | None = None) -> torch.Tensor:
    """Run decoder layers ``start..`` on ``hidden`` with the arguments each layer got in the full pass
    (mask, rotary embeddings, position ids; per layer, so sliding-window layer types stay right),
    bypassing layer ``skip``; then the final norm."""
    layers = _layers(model)
    for j in range(start, len(layers)):
        if j == skip:
            continue
        args, kwargs = calls[j]
        if args:
            out = layers[j](hidden, *args[1:], **kwargs)
        else:
            out = layers[j](**{**kwargs, "hidden_states": hidden})
        hidden = out[0] if isinstance(out, tuple) else out
    return model.model.norm(hidden)


@torch.no_grad()
def activation_importance(model, tokenizer, calib_texts: list[str], *, batch_size: int = 8,
                          max_length: int = 64, progress: bool = True,
                          layer_score: str = "block_influence") -> Importance:
    """Run the calibration texts through the model with hooks; see the module docstring.

    ``layer_score="skip_loss"`` adds, per batch, one replay per layer (from that layer's cached input,
    with the layer bypassed) and scores layers by the mean next-token loss increase: n_layers extra
    partial forward passes, for depth pruning."""
    if layer_score not in LAYER_SCORES:
        raise ValueError(f"unknown layer_score {layer_score!r}; choose one of {LAYER_SCORES}")
    if not calib_texts:
        raise ValueError("activation importance needs at least one calibration text (calib_texts is empty)")
    from taskdistill.progress import make_progress

    skip = layer_score == "skip_loss"
    n_layers = len(_layers(model))
    col = _Collector(model)
    col.capture = skip
    col.install()
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    base_sum, n_targets = 0.0, 0
    skip_sums = torch.zeros(n_layers, dtype=torch.float64)
    try:
        with make_progress(quiet=not progress, info=False, transient=True) as bar:
            label = "importance (activation" + (", skip-loss per layer)" if skip else ")")
            task = bar.add_task(label, total=len(calib_texts) * (1 + n_layers if skip else 1))
            for start in range(0, len(calib_texts), batch_size):
                chunk = calib_texts[start:start + batch_size]
                enc = tokenizer(chunk, return_tensors="pt", padding=True, truncation=True,
                                max_length=max_length, add_special_tokens=False)
                ids = enc["input_ids"].to(device)
                mask = enc["attention_mask"].bool().to(device)
                col.mask = mask
                col.tokens += int(mask.sum())
                col.active = True
                # the decoder only: block influence never needs logits, and the vocab projection is ~20% of
                # SmolLM2's forward FLOPs (49,152 x 576 per token); skip-loss projects target rows only
                out = model.model(input_ids=ids, attention_mask=enc["attention_mask"].to(device),
                                  use_cache=False)
                bar.advance(task, len(chunk))
                if not skip:
                    continue
                col.active = False  # replays must not add to the activation statistics
                pos, targets = _next_token_targets(ids, mask)
                n_targets += int(targets.numel())
                if targets.numel():
                    base_sum += _loss_sum(model, out.last_hidden_state, pos, targets)
                    for layer in range(n_layers):
                        h = _replay_from(model, col.calls, layer, _layer_input(col.calls[layer]), skip=layer)
                        skip_sums[layer] += _loss_sum(model, h, pos, targets)
                        bar.advance(task, len(chunk))
                else:
                    bar.advance(task, len(chunk) * n_layers)
                col.calls.clear()
    finally:
        col.remove()
        col.calls.clear()
        model.train(was_training)
    if col.tokens == 0:
        raise ValueError("calibration texts tokenised to zero tokens")
    imp = col.result()
    if skip:
        if n_targets == 0:
            raise ValueError("layer_score='skip_loss' needs calibration texts of at least two tokens "
                             "(no next-token targets after tokenisation)")
        imp.layers = ((skip_sums - base_sum) / n_targets).float()
        imp.meta.update({"layer_score": "skip_loss", "base_loss": base_sum / n_targets, "loss_targets": n_targets})
    return imp


def compute_importance(model, tokenizer, calib_texts: list[str] | None = None, *, method: str = "activation",
                       batch_size: int = 8, max_length: int = 64, cache: bool = True,
                       progress: bool = True, layer_score: str = "block_influence",
                       task_hash: str | None = None) -> Importance:
    """Importance of every head, neuron, hidden channel and layer of ``model`` (cached on disk).

    ``layer_score`` ("block_influence" | "skip_loss") chooses how the activation method scores layers;
    skip-loss costs n_layers extra (partial) forward passes and only changes the layer scores, so use it
    when the plan removes layers. The magnitude method has its own data-free layer score.

    The cache key is (weights hash, calibration-text hash, method, max_length, layer score, and the
    hash of the task the calibration texts were rendered for, ``task_hash``): the same model state and
    calibration set never pay for a second calibration pass, whatever ratio is pruned next, and two
    tasks never share scores."""
    if method not in METHODS:
        raise ValueError(f"unknown importance method {method!r}; choose one of {METHODS}")
    if layer_score not in LAYER_SCORES:
        raise ValueError(f"unknown layer_score {layer_score!r}; choose one of {LAYER_SCORES}")
    if method == "magnitude" and layer_score != "block_influence":
        raise ValueError(f"layer_score={layer_score!r} needs calibration text: use method='activation' "
                         "(method 'magnitude' scores layers from weights only)")
    adapter_for(model.config)  # unsupported architecture -> clear error before any work
    texts = list(calib_texts or []) if method == "activation" else []
    if method == "activation" and not texts:
        raise ValueError("method 'activation' needs calib_texts (in-domain prompts); "
                         "use method='magnitude' for a data-free score")
    parts = [CACHE_VERSION, model_hash(model), texts_hash(texts), method, max_length if texts else None]
    if layer_score != "block_influence":
        # appended only when not the default, so caches written before skip-loss existed stay valid
        parts.append(layer_score)
    if task_hash is not None and texts:
        parts.append(("task", task_hash))
    key = content_hash(*parts)
    path = stage_dir("importance") / f"{key}.safetensors"
    if cache and path.exists():
        imp = Importance.load(path)
        imp.meta["cache"] = str(path)
        return imp
    if method == "magnitude":
        imp = magnitude_importance(model)
    else:
        imp = activation_importance(model, tokenizer, texts, batch_size=batch_size, max_length=max_length,
                                    progress=progress, layer_score=layer_score)
    imp.meta.update({"key": key, "texts": len(texts), "max_length": max_length})
    if cache:
        imp.save(path)
        imp.meta["cache"] = str(path)
    return imp
