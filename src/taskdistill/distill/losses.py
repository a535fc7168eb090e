"""Distillation losses, one function each. Formulas and conventions: ``docs/losses.md``.

All functions take logits already gathered at the supervised positions, shape ``[N, V]`` (N positions
flattened over the batch), and return a scalar: the (optionally ``weights``-weighted) mean over
positions, or the per-position values with ``reduction="none"``.

A teacher is given either as full logits ``[N, V]`` or as a ``TeacherTopK`` (ids and log-probs of its
top-k tokens at temperature 1 plus the log of the remaining "tail" mass), which is what the offline
cache stores. With top-k, both distributions are compared on k + 1 *buckets*: the k teacher tokens
and one bucket holding everything else. When k = V the tail is empty and the bucketed KL equals the
full KL exactly (tested).

Temperature T: the divergences compare softmax(z / T) distributions and are multiplied by T**2 so
gradient magnitudes do not shrink as T grows (Hinton et al., 2015). Cached teacher log-probs are at
T = 1; at T != 1 the top-k log-probs are rescaled by 1/T exactly (a softmax's log-probs differ from
its logits by a constant), while the tail bucket is tempered as if its mass were spread uniformly over
the V - k remaining tokens (the maximum-entropy guess; exact at T = 1 and when the tail is empty).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from taskdistill.targets.cache import tail_logmass

NEG_INF = float("-inf")


class TeacherTopK(NamedTuple):
    """A teacher's top-k distribution at the supervised positions (temperature 1)."""

    ids: torch.Tensor  # [N, k] int64
    logprobs: torch.Tensor  # [N, k] float32, log p(token)
    tail_logmass: torch.Tensor | None = None  # [N] log(1 - sum_k p), None -> derived from logprobs


Teacher = torch.Tensor | TeacherTopK


def _reduce(per_pos: torch.Tensor, weights: torch.Tensor | None, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return per_pos
    if reduction == "sum":
        return (per_pos * weights).sum() if weights is not None else per_pos.sum()
    if reduction != "mean":
        raise ValueError(f"unknown reduction {reduction!r}; choose mean, sum or none")
    if weights is None:
        return per_pos.mean() if per_pos.numel() else per_pos.sum()
    total = weights.sum()
    return (per_pos * weights).sum() / total.clamp_min(1e-12)


def _teacher_buckets(teacher: TeacherTopK, vocab: int, T: float) -> torch.Tensor:
    """Teacher log-probs over k + 1 buckets at temperature T. Shape [N, k+1]."""
    lp = teacher.logprobs.float()
    tail = teacher.tail_logmass.float() if teacher.tail_logmass is not None else tail_logmass(lp)
    k = lp.shape[-1]
    if T != 1.0:
        n_tail = max(vocab - k, 1)
        # tail tokens assumed uniform: each has log-prob tail - log(n_tail); temper, then re-sum.
        tail = torch.where(torch.isfinite(tail), (tail - math.log(n_tail)) / T + math.log(n_tail),
                           tail)
        lp = lp / T
    buckets = torch.cat([lp, tail.unsqueeze(-1)], dim=-1)
    return torch.log_softmax(buckets, dim=-1)


def _student_buckets(student_logits: torch.Tensor, ids: torch.Tensor, T: float) -> torch.Tensor:
    """Student log-probs (temperature T) over the teacher's k tokens + the rest. Shape [N, k+1]."""
    lq = torch.log_softmax(student_logits.float() / T, dim=-1)
    top = lq.gather(-1, ids.long())
    rest = lq.scatter(-1, ids.long(), NEG_INF)
    tail = torch.logsumexp(rest, dim=-1, keepdim=True)
    return torch.cat([top, tail], dim=-1)


def _pair(student_logits: torch.Tensor, teacher: Teacher, T: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(teacher log-probs, student log-probs) on a common support at temperature T."""
    if T <= 0:
        raise ValueError(f"temperature must be > 0, got {T}")
    if isinstance(teacher, TeacherTopK):
        if teacher.ids.shape != teacher.logprobs.shape or teacher.ids.shape[0] != student_logits.shape[0]:
            raise ValueError(f"teacher top-k shapes {tuple(teacher.ids.shape)} / "
                             f"{tuple(teacher.logprobs.shape)} do not match {student_logits.shape[0]} positions")
        return (_teacher_buckets(teacher, student_logits.shape[-1], T),
                _student_buckets(student_logits, teacher.ids, T))
    if teacher.shape != student_logits.shape:
        raise ValueError(f"teacher logits {tuple(teacher.shape)} vs student {tuple(student_logits.shape)}")
    return (torch.log_softmax(teacher.float() / T, dim=-1),
            torch.log_softmax(student_logits.float() / T, dim=-1))


def _kl(lp: torch.Tensor, lq: torch.Tensor) -> torch.Tensor:
    """Per-position KL(p || q) = sum p (log p - log q), with 0 log 0 = 0 (empty tail buckets)."""
    p = lp.exp()
    diff = torch.where(p > 0, lp - lq, torch.zeros_like(lp))
    return (p * diff).sum(-1)


def cross_entropy(student_logits: torch.Tensor, target_ids: torch.Tensor, *,
                  weights: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """-log q(target) at each position: SFT on the given tokens."""
    per = F.cross_entropy(student_logits.float(), target_ids.long(), reduction="none")
    return _reduce(per, weights, reduction)


def forward_kl(student_logits: torch.Tensor, teacher: Teacher, T: float = 1.0, *,
               weights: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """T**2 * KL(p_teacher^T || q_student^T): mode-covering, the classic logit KD."""
    lp, lq = _pair(student_logits, teacher, T)
    return _reduce(_kl(lp, lq) * T * T, weights, reduction)


def topk_kl(student_logits: torch.Tensor, topk_ids: torch.Tensor, topk_logprobs: torch.Tensor,
            T: float = 1.0, tail_logmass: torch.Tensor | None = None, *,
            weights: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """Forward KL against a cached top-k teacher, with the rest of the vocabulary as one tail bucket."""
    return forward_kl(student_logits, TeacherTopK(topk_ids, topk_logprobs, tail_logmass), T,
                      weights=weights, reduction=reduction)


def reverse_kl(student_logits: torch.Tensor, teacher: Teacher, T: float = 1.0, *,
               weights: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """T**2 * KL(q_student^T || p_teacher^T): mode-seeking. Where the teacher has no mass (an empty
    tail bucket) the student's mass there costs a large but finite penalty (log p floored at -100)."""
    lp, lq = _pair(student_logits, teacher, T)
    return _reduce(_kl(lq, lp.clamp_min(-100.0)) * T * T, weights, reduction)


def jsd(student_logits: torch.Tensor, teacher: Teacher, T: float = 1.0, beta: float = 0.5, *,
        weights: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """Generalised Jensen-Shannon divergence (GKD, Agarwal et al. 2024) with mixture
    m = beta * p + (1 - beta) * q: T**2 * (beta KL(p||m) + (1 - beta) KL(q||m)). Bounded by log 2
    at beta = 0.5, so it cannot blow up when teacher and student disagree sharply."""
    if not 0.0 < beta < 1.0:
        raise ValueError(f"jsd beta must be in (0, 1), got {beta}")
    lp, lq = _pair(student_logits, teacher, T)
    lm = torch.logsumexp(torch.stack([lp + math.log(beta), lq + math.log(1 - beta)]), dim=0)
    per = beta * _kl(lp, lm) + (1 - beta) * _kl(lq, lm)
    return _reduce(per * T * T, weights, reduction)


KD_VARIANTS = {"forward": forward_kl, "reverse": reverse_kl, "jsd": jsd}


def kd_loss(student_logits: torch.Tensor, teacher: Teacher, T: float = 1.0, variant: str = "forward", *,
            weights: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """Dispatch on the configured divergence (``forward`` | ``reverse`` | ``jsd``)."""
    try:
        fn = KD_VARIANTS[variant]
    except KeyError:
        raise ValueError(f"unknown kd variant {variant!r}; choose {sorted(KD_VARIANTS)}") from None
    return fn(student_logits, teacher, T, weights=weights, reduction=reduction)


def blend_weight(step: int, blend_lambda: float, warmup_steps: int = 0) -> float:
    """λ at an optimizer step: linear ramp from 0 (pure SFT) to ``blend_lambda`` over ``warmup_steps``.

    Starting on cross-entropy lets a freshly pruned student first learn the trace *format* from the
    teacher's sampled tokens before it is asked to match the teacher's full (high-entropy) distribution
    over every trace token, which is where pure KL over long traces is unstable."""
    if not 0.0 <= blend_lambda <= 1.0:
        raise ValueError(f"blend_lambda must be in [0, 1], got {blend_lambda}")
    if warmup_steps <= 0 or step >= warmup_steps:
        return float(blend_lambda)
    return float(blend_lambda) * max(step, 0) / warmup_steps


def blended_cot_loss(student_logits: torch.Tensor, target_ids: torch.Tensor, teacher: Teacher,
                     lam: float, T: float = 1.0, *, segments: torch.Tensor | None = None,
                     answer_weight: float = 1.0, variant: str = "forward",
                     weights: torch.Tensor | None = None, reduction: str = "mean",
                     ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Our blended CoT loss over trace + answer positions:

        L = λ · KD(teacher, student)  +  (1 - λ) · CE(sampled trace tokens and answer tokens)

    both terms averaged over the same positions with the same weights (answer tokens weighted by
    ``answer_weight`` when ``segments`` marks them with 1, trace tokens with 0). λ = 1 is exactly
    pure KD and λ = 0 exactly pure SFT: the other term is then skipped, not multiplied by zero, so
    an infinite or NaN value in it cannot leak into the loss. Returns (loss, {"kl", "ce"}) reduced
    by ``reduction`` (with ``"sum"`` the weights multiply, for callers that normalise themselves).
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"blend weight λ must be in [0, 1], got {lam}")
    w = weights.float() if weights is not None else torch.ones(target_ids.shape[0],
                                                              device=student_logits.device)
    if segments is not None and answer_weight != 1.0:
        w = w * torch.where(segments.bool(), torch.full_like(w, answer_weight), torch.ones_like(w))
    parts: dict[str, torch.Tensor] = {}
    per = student_logits.new_zeros(target_ids.shape[0], dtype=torch.float32)
    if lam > 0.0:
        kl = kd_loss(student_logits, teacher, T, variant, reduction="none")
        parts["kl"] = _reduce(kl, w, reduction)
        per = per + lam * kl
    if lam < 1.0:
        ce = cross_entropy(student_logits, target_ids, reduction="none")
        parts["ce"] = _reduce(ce, w, reduction)
        per = per + (1.0 - lam) * ce
    return _reduce(per, w, reduction), parts
