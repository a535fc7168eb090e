"""Exact log-likelihood of many continuations of one context in ONE forward pass.

Every scoring task of this stage has the same shape: a context (a prompt, an MMLU question) and a
handful of candidate continuations (a task's ``[[label]]`` strings, 4 answer letters, 4 answer texts).
The obvious way, one forward over ``context + continuation`` per candidate, recomputes the context
for every candidate: for the 35 finheadlines labels that is ~35x the work.

Here the candidates of one context are merged into a *token trie* (labels share ``[[`` and more),
and the context plus the trie's inner nodes are laid out as one sequence. A 4-D attention mask lets
each trie node see the context and its own trie ancestors only, and each node gets the position id
it would have in the plain sequence ``context + its prefix``. The context's keys and values are
computed once and shared by every candidate (the "KV reuse"), each shared prefix is computed once,
and the result equals the naive computation up to float rounding (tested against it).

Two more savings: a candidate's last token is never fed in (nothing is predicted from it), and the
vocabulary projection runs only at the positions whose next-token distribution is needed (the
49k-word head is ~20% of a SmolLM2 forward).

Contexts of different lengths are left-padded into a batch; padding is handled by the mask and the
position ids, never by the tokenizer, so the tokenizer's ``padding_side`` does not matter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class _Trie:
    """Token trie of the candidates of one context.

    ``nodes`` are (token, parent) pairs with parent -1 for the root (= the last context token);
    ``paths[c]`` lists the node indices spelling candidate ``c``. The layout arrays (which nodes
    are fed in, their depths, which fed node each one may attend to) are computed once per trie."""

    nodes: list[tuple[int, int]] = field(default_factory=list)
    paths: list[list[int]] = field(default_factory=list)

    @classmethod
    def build(cls, candidates: Sequence[Sequence[int]]) -> _Trie:
        trie = cls()
        index: dict[tuple[int, int], int] = {}
        for cand in candidates:
            if len(cand) == 0:
                raise ValueError("an empty continuation cannot be scored (it has no tokens)")
            parent, path = -1, []
            for tok in cand:
                key = (parent, int(tok))
                if key not in index:
                    index[key] = len(trie.nodes)
                    trie.nodes.append((int(tok), parent))
                parent = index[key]
                path.append(parent)
            trie.paths.append(path)
        trie._layout()
        return trie

    def _layout(self) -> None:
        # inner = nodes with children: only these are fed to the model (parents precede children)
        self.inner = sorted({p for _, p in self.nodes if p >= 0})
        slot = {n: k for k, n in enumerate(self.inner)}
        depth = [0] * len(self.nodes)
        for i, (_, p) in enumerate(self.nodes):
            depth[i] = 1 if p < 0 else depth[p] + 1
        self.inner_tokens = np.array([self.nodes[n][0] for n in self.inner], dtype=np.int64)
        self.inner_depth = np.array([depth[n] for n in self.inner], dtype=np.int64)
        # ancestor-or-self among fed nodes: row q may attend to column k
        m = len(self.inner)
        self.anc = np.zeros((m, m), dtype=bool)
        for q, n in enumerate(self.inner):
            a = n
            while a >= 0:
                self.anc[q, slot[a]] = True
                a = self.nodes[a][1]
        # for every node, the fed slot of its parent (-1 = the last context token)
        self.parent_slot = np.array([-1 if p < 0 else slot[p] for _, p in self.nodes], dtype=np.int64)
        self.tokens = np.array([t for t, _ in self.nodes], dtype=np.int64)
        self.path_matrix = np.zeros((len(self.paths), len(self.nodes)), dtype=np.float64)
        for c, path in enumerate(self.paths):
            self.path_matrix[c, path] = 1.0


def _forward_layout(contexts: list[list[int]], tries: list[_Trie], pad_id: int, dtype: torch.dtype):
    """Input ids, 4-D additive mask, position ids and, per row, the sequence index of every trie
    node's parent (where that node's log-prob is read)."""
    lengths = [len(c) + len(t.inner) for c, t in zip(contexts, tries, strict=True)]
    width, b = max(lengths), len(contexts)
    input_ids = np.full((b, width), pad_id, dtype=np.int64)
    position_ids = np.zeros((b, width), dtype=np.int64)
    allowed = np.zeros((b, width, width), dtype=bool)
    parents = []
    for i, (ctx, trie) in enumerate(zip(contexts, tries, strict=True)):
        off, n_ctx = width - lengths[i], len(ctx)  # left padding
        t0 = off + n_ctx  # first fed trie node
        input_ids[i, off:t0] = ctx
        input_ids[i, t0:] = trie.inner_tokens
        position_ids[i, off:t0] = np.arange(n_ctx)
        position_ids[i, t0:] = n_ctx - 1 + trie.inner_depth
        allowed[i, off:t0, off:t0] = np.tri(n_ctx, dtype=bool)  # causal context
        allowed[i, t0:, off:t0] = True  # trie nodes see the whole context ...
        allowed[i, t0:, t0:] = trie.anc  # ... and their own ancestors
        pad = np.arange(off)  # padding queries see themselves only: finite softmax, nobody reads them
        allowed[i, pad, pad] = True
        parents.append(np.where(trie.parent_slot < 0, t0 - 1, t0 + trie.parent_slot))
    mask = torch.zeros((b, 1, width, width), dtype=dtype)
    mask.masked_fill_(~torch.from_numpy(allowed)[:, None], torch.finfo(dtype).min)
    return torch.from_numpy(input_ids), mask, torch.from_numpy(position_ids), parents


def _hidden_and_head(model):
    """The decoder body (ending in the final norm) and the LM head, for any HF causal LM."""
    body = model.get_decoder() if hasattr(model, "get_decoder") else None
    head = model.get_output_embeddings()
    if body is None or head is None or body is model:
        raise TypeError(f"{type(model).__name__}: cannot find the decoder body and LM head to score with")
    return body, head


@torch.no_grad()
def score_trees(
    model,
    contexts: Sequence[Sequence[int]],
    candidates: Sequence[Sequence[Sequence[int]]],
    *,
    batch_size: int = 16,
    on_batch: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """Per context ``i``, the summed log-prob of each candidate continuation ``candidates[i][c]``.

    ``contexts[i]`` must be non-empty (the last token predicts the first candidate token). Contexts
    are processed longest-first in batches of ``batch_size`` (so one batch holds similar lengths);
    ``on_batch(n)`` is called after each batch with the number of contexts done in it.
    Returns float64 arrays, one per context, in the input order."""
    if len(contexts) != len(candidates):
        raise ValueError(f"{len(contexts)} contexts but {len(candidates)} candidate lists")
    for i, ctx in enumerate(contexts):
        if len(ctx) == 0:
            raise ValueError(f"context {i} is empty; it needs at least one token to predict from")
    body, head = _hidden_and_head(model)
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    pad_id = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    built: dict[tuple, _Trie] = {}  # identical candidate lists (a task's labels) share one trie
    tries = []
    for cands in candidates:
        key = tuple(tuple(int(t) for t in c) for c in cands)
        if key not in built:
            built[key] = _Trie.build(cands)
        tries.append(built[key])
    cost = [len(c) + len(t.inner) for c, t in zip(contexts, tries, strict=True)]
    order = sorted(range(len(contexts)), key=lambda i: -cost[i])
    out: list[np.ndarray | None] = [None] * len(contexts)
    step = max(1, batch_size)
    for start in range(0, len(order), step):
        idx = order[start:start + step]
        tri_b = [tries[i] for i in idx]
        input_ids, mask, position_ids, parents = _forward_layout([list(contexts[i]) for i in idx], tri_b,
                                                                 pad_id, dtype)
        hidden = body(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                      position_ids=position_ids.to(device), use_cache=False).last_hidden_state
        # project only the positions that predict some trie node
        need = [np.unique(p) for p in parents]
        rows = torch.from_numpy(np.concatenate([np.full(len(n), r) for r, n in enumerate(need)])).to(device)
        cols = torch.from_numpy(np.concatenate(need)).to(device)
        logp = torch.log_softmax(head(hidden[rows, cols]).float(), dim=-1).double().cpu()
        base = 0
        for r, (i, trie) in enumerate(zip(idx, tri_b, strict=True)):
            at = base + np.searchsorted(need[r], parents[r])
            base += len(need[r])
            node_lp = logp[torch.from_numpy(at), torch.from_numpy(trie.tokens)].numpy()
            out[i] = trie.path_matrix @ node_lp
        if on_batch is not None:
            on_batch(len(idx))
    return out  # type: ignore[return-value]


@torch.no_grad()
def score_naive(model, context: Sequence[int], candidates: Sequence[Sequence[int]]) -> np.ndarray:
    """Reference: one full forward of ``context + candidate`` per candidate (tests and benches)."""
    device = next(model.parameters()).device
    out = []
    for cand in candidates:
        ids = torch.tensor([list(context) + list(cand)], device=device)
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
        n = len(context)
        out.append(sum(float(logp[n - 1 + j, t]) for j, t in enumerate(cand)))
    return np.array(out, dtype=np.float64)
