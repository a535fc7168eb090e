"""Each loss against values computed by hand (plain Python math on a 3-token vocabulary)."""

from __future__ import annotations

import math

import pytest
import torch

from taskdistill.distill.losses import (
    TeacherTopK,
    blend_weight,
    blended_cot_loss,
    cross_entropy,
    forward_kl,
    jsd,
    kd_loss,
    reverse_kl,
    tail_logmass,
    topk_kl,
)

S = [1.0, 2.0, 0.5]  # student logits
TL = [2.0, 0.0, -1.0]  # teacher logits


def softmax(z, T=1.0):
    e = [math.exp(v / T) for v in z]
    s = sum(e)
    return [v / s for v in e]


def kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True) if pi > 0)


def t(x):
    return torch.tensor([x], dtype=torch.float32)


def test_cross_entropy_hand():
    q = softmax(S)
    assert cross_entropy(t(S), torch.tensor([2])).item() == pytest.approx(-math.log(q[2]), rel=1e-6)


def test_cross_entropy_weighted_mean():
    logits = torch.tensor([S, TL])
    w = torch.tensor([1.0, 3.0])
    ce0, ce1 = -math.log(softmax(S)[0]), -math.log(softmax(TL)[1])
    got = cross_entropy(logits, torch.tensor([0, 1]), weights=w).item()
    assert got == pytest.approx((ce0 + 3 * ce1) / 4, rel=1e-6)


@pytest.mark.parametrize("T", [1.0, 2.0])
def test_forward_kl_hand(T):
    want = T * T * kl(softmax(TL, T), softmax(S, T))
    assert forward_kl(t(S), t(TL), T).item() == pytest.approx(want, rel=1e-5)


def test_reverse_kl_hand():
    want = 4 * kl(softmax(S, 2), softmax(TL, 2))
    assert reverse_kl(t(S), t(TL), 2.0).item() == pytest.approx(want, rel=1e-5)


def test_jsd_hand():
    p, q = softmax(TL), softmax(S)
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    want = 0.5 * kl(p, m) + 0.5 * kl(q, m)
    assert jsd(t(S), t(TL)).item() == pytest.approx(want, rel=1e-5)
    assert jsd(t(S), t(TL)).item() <= math.log(2)


def test_topk_kl_hand_with_tail_bucket():
    # teacher top-2 of a 3-token vocab: tokens 0 and 1; the tail bucket is token 2 alone
    p = softmax(TL)
    q = softmax(S)
    ids = torch.tensor([[0, 1]])
    lps = torch.tensor([[math.log(p[0]), math.log(p[1])]])
    want = kl([p[0], p[1], p[2]], [q[0], q[1], q[2]])  # one tail token -> bucket == token
    assert topk_kl(t(S), ids, lps, 1.0).item() == pytest.approx(want, rel=1e-5)
    # explicit tail mass gives the same as the derived one
    tail = torch.tensor([math.log(p[2])])
    assert topk_kl(t(S), ids, lps, 1.0, tail).item() == pytest.approx(want, rel=1e-5)


def test_topk_bucket_hand_vocab4():
    # 4 tokens, k=2: tail bucket merges tokens 2 and 3 on both sides
    s = [0.3, -1.0, 2.0, 0.1]
    tl = [1.5, 1.0, -0.5, 0.0]
    p, q = softmax(tl), softmax(s)
    want = kl([p[0], p[1], p[2] + p[3]], [q[0], q[1], q[2] + q[3]])
    ids = torch.tensor([[0, 1]])
    lps = torch.tensor([[math.log(p[0]), math.log(p[1])]])
    assert topk_kl(t(s), ids, lps).item() == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("T", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("fn", [forward_kl, reverse_kl, jsd])
def test_topk_equals_full_when_k_is_vocab(fn, T):
    g = torch.Generator().manual_seed(0)
    V = 50
    s, tl = torch.randn(7, V, generator=g) * 3, torch.randn(7, V, generator=g) * 3
    lp = torch.log_softmax(tl, -1)
    top_lp, top_ids = lp.topk(V, dim=-1)
    tail = tail_logmass(top_lp)
    assert torch.all(tail < -10)  # (numerically) empty tail
    full = fn(s, tl, T)
    bucketed = fn(s, TeacherTopK(top_ids, top_lp, torch.full_like(tail, float("-inf"))), T)
    assert bucketed.item() == pytest.approx(full.item(), rel=1e-4, abs=1e-6)


def test_topk_close_to_full_for_peaked_teacher():
    g = torch.Generator().manual_seed(1)
    V = 200
    s = torch.randn(5, V, generator=g)
    tl = torch.randn(5, V, generator=g) * 6  # peaked: most mass in a few tokens
    lp = torch.log_softmax(tl, -1)
    top_lp, top_ids = lp.topk(64, dim=-1)
    approx = topk_kl(s, top_ids, top_lp).item()
    exact = forward_kl(s, tl).item()
    assert approx <= exact + 1e-5  # merging buckets never increases KL (data processing)
    assert approx == pytest.approx(exact, rel=0.05)


def test_kd_loss_dispatch_and_errors():
    assert kd_loss(t(S), t(TL), 1.0, "reverse").item() == pytest.approx(reverse_kl(t(S), t(TL)).item())
    with pytest.raises(ValueError, match="unknown kd variant"):
        kd_loss(t(S), t(TL), 1.0, "bogus")
    with pytest.raises(ValueError, match="temperature"):
        forward_kl(t(S), t(TL), 0.0)
    with pytest.raises(ValueError, match="do not match"):
        topk_kl(torch.zeros(2, 3), torch.tensor([[0]]), torch.tensor([[0.0]]))


def _blend_inputs():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(6, 40, generator=g, requires_grad=True)
    tl = torch.randn(6, 40, generator=g) * 2
    lp = torch.log_softmax(tl, -1)
    top_lp, top_ids = lp.topk(8, dim=-1)
    targets = torch.randint(0, 40, (6,), generator=g)
    segments = torch.tensor([0, 0, 0, 0, 1, 1])
    return logits, TeacherTopK(top_ids, top_lp), targets, segments


def test_blended_endpoints_are_exact():
    logits, teacher, targets, segments = _blend_inputs()
    pure_kl = topk_kl(logits, teacher.ids, teacher.logprobs, 2.0)
    pure_ce = cross_entropy(logits, targets)
    at1, parts1 = blended_cot_loss(logits, targets, teacher, 1.0, 2.0, segments=segments)
    at0, parts0 = blended_cot_loss(logits, targets, teacher, 0.0, 2.0, segments=segments)
    assert torch.equal(at1, pure_kl) and set(parts1) == {"kl"}
    assert torch.equal(at0, pure_ce) and set(parts0) == {"ce"}
    mid, parts = blended_cot_loss(logits, targets, teacher, 0.3, 2.0, segments=segments)
    assert mid.item() == pytest.approx(0.3 * pure_kl.item() + 0.7 * pure_ce.item(), rel=1e-6)


def test_blended_answer_weight():
    logits, teacher, targets, segments = _blend_inputs()
    got, _ = blended_cot_loss(logits.detach(), targets, teacher, 0.0, segments=segments, answer_weight=3.0)
    ce = cross_entropy(logits.detach(), targets, reduction="none")
    w = torch.tensor([1, 1, 1, 1, 3, 3.0])
    assert got.item() == pytest.approx(float((ce * w).sum().detach() / w.sum()), rel=1e-6)


@pytest.mark.parametrize("scale", [20.0, 1e4])
def test_blended_gradients_finite_under_sharp_disagreement(scale):
    """Student certain of token 0, teacher certain of token 5, the sampled target is token 7.
    At scale 1e4 the softmaxes saturate in float32 (gradients may vanish but must stay finite)."""
    V = 30
    logits = torch.full((4, V), -scale)
    logits[:, 0] = scale
    logits.requires_grad_(True)
    tl = torch.full((4, V), -scale)
    tl[:, 5] = scale
    lp = torch.log_softmax(tl, -1)
    top_lp, top_ids = lp.topk(4, dim=-1)
    targets = torch.full((4,), 7)
    for lam in (0.0, 0.5, 1.0):
        for variant in ("forward", "reverse", "jsd"):
            loss, _ = blended_cot_loss(logits, targets, TeacherTopK(top_ids, top_lp), lam, 2.0,
                                       variant=variant)
            (g,) = torch.autograd.grad(loss, logits)
            assert torch.isfinite(loss), (lam, variant)
            assert torch.isfinite(g).all(), (lam, variant)
            # pure reverse KL and JSD saturate with a (nearly) one-hot student: almost no gradient
            # (why forward KL is the default and the blend keeps a CE term)
            if scale < 100 and (lam < 1.0 or variant == "forward"):
                assert g[:, 0].gt(0).all(), (lam, variant)  # pushes the student off its wrong token


def test_blend_weight_schedule():
    assert blend_weight(0, 0.8, 4) == 0.0
    assert blend_weight(2, 0.8, 4) == pytest.approx(0.4)
    assert blend_weight(4, 0.8, 4) == 0.8
    assert blend_weight(0, 0.8, 0) == 0.8
    with pytest.raises(ValueError):
        blend_weight(0, 1.5)
    with pytest.raises(ValueError):
        blended_cot_loss(torch.zeros(1, 3), torch.tensor([0]), torch.zeros(1, 3), 1.2)
