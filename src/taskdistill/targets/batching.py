"""Padding examples into batches, and running a causal LM for logits *only* at supervised positions.

A 49k-token vocabulary makes SmolLM2's lm_head ~20% of a forward pass; the loss needs logits only
at the few target positions per example (a dozen in label format), so we run the decoder for hidden
states, gather the supervised positions and project just those. The same helper serves the teacher
cache writer and the trainer, so both see identical positions in identical order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from taskdistill.targets.examples import Example


@dataclass
class Batch:
    """Right-padded examples plus the flattened supervised positions (example-major order)."""

    input_ids: torch.Tensor  # [B, L]
    attention_mask: torch.Tensor  # [B, L]
    pos_b: torch.Tensor  # [N] row of each supervised position
    pos_t: torch.Tensor  # [N] column of each supervised position (its logits predict the target)
    targets: torch.Tensor  # [N] target token ids
    is_answer: torch.Tensor  # [N] bool, True for answer-segment tokens
    indices: list[int]  # indices of the examples in the caller's list
    n_tokens: int  # real (unpadded) tokens in the batch

    def to(self, device) -> Batch:
        for name in ("input_ids", "attention_mask", "pos_b", "pos_t", "targets", "is_answer"):
            setattr(self, name, getattr(self, name).to(device))
        return self


def collate(examples: Sequence[Example], indices: Sequence[int], pad_id: int) -> Batch:
    width = max(len(ex.input_ids) for ex in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    pb, pt, tg, ans = [], [], [], []
    for row, ex in enumerate(examples):
        n = len(ex.input_ids)
        ids[row, :n] = torch.tensor(ex.input_ids, dtype=torch.long)
        mask[row, :n] = 1
        pos = list(ex.positions)
        pb.extend([row] * len(pos))
        pt.extend(pos)
        tg.extend(ex.targets)
        ans.extend(s == "answer" for s in ex.segments)
    return Batch(ids, mask, torch.tensor(pb), torch.tensor(pt), torch.tensor(tg), torch.tensor(ans),
                 list(indices), int(mask.sum()))


def core_model(model: nn.Module) -> nn.Module:
    """The ``*ForCausalLM`` underneath DDP/FSDP wrappers and peft."""
    m = model
    while True:
        if hasattr(m, "module") and isinstance(m.module, nn.Module) and not hasattr(m, "lm_head"):
            m = m.module
        elif hasattr(m, "get_base_model") and not hasattr(m, "lm_head"):
            m = m.get_base_model()
        else:
            return m


class SupervisedLM(nn.Module):
    """Wraps a causal LM so ``forward`` returns logits at the given positions only ([N, V]).

    Being an ``nn.Module`` whose ``forward`` does the whole computation matters for data-parallel
    training: DDP only synchronises gradients of work done inside the wrapped module's forward."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, pos_b, pos_t) -> torch.Tensor:
        lm = core_model(self.model)
        hidden = lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask,
                                  use_cache=False).last_hidden_state
        logits = lm.get_output_embeddings()(hidden[pos_b, pos_t])
        scale = getattr(lm.config, "logit_scale", None)  # Cohere-style heads; absent in our archs
        return logits * scale if scale else logits


@torch.no_grad()
def supervised_logits(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Inference-time helper: logits [N, V] at the batch's supervised positions."""
    device = next(model.parameters()).device
    b = batch.to(device)
    return SupervisedLM(model)(b.input_ids, b.attention_mask, b.pos_b, b.pos_t)


def bucketed_batches(lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int,
                     bucket_size: int = 8) -> list[list[int]]:
    """Deterministic length-bucketed micro-batches for one epoch.

    Shuffle with (seed, epoch), cut into buckets of ``bucket_size`` batches, sort each bucket by
    length (so a batch pads to similar lengths), then shuffle the batch order so the curriculum is
    not short-to-long. Same inputs -> same batches on every process and after a resume."""
    rng = random.Random(f"{seed}:{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * bucket_size
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        bucket = sorted(order[start:start + chunk], key=lambda i: (lengths[i], i))
        batches.extend(bucket[j:j + batch_size] for j in range(0, len(bucket), batch_size))
    rng.shuffle(batches)
    return batches
