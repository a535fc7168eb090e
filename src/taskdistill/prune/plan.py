"""Planner: a target fraction of the teacher's parameters -> one exact, valid model shape.

The shape is uniform across layers (so the config still describes the model) and must respect:
  - GQA: ``heads = kv_heads * g`` with ``kv_heads`` dividing the original KV heads' groups: we keep
    ``kv`` whole KV groups, each with the same number ``g`` of its query heads (``1 <= g <= G``);
  - ``head_dim`` never changes (RoPE and the per-head q/k norms are defined on it);
  - ``hidden`` and ``intermediate`` are multiples of ``multiple`` (8 by default: friendly to matmul kernels),
    or their original value; the planner falls back to finer multiples only if the target needs them;
    for Llama, ``hidden`` must also be divisible by the kept query-head count (a config validation rule).

How the budget is split across axes (``combined``) is a small optimisation, not a fixed recipe: among all
valid shapes whose parameter count is within ``tolerance`` of the target, pick the one minimising

    sum over axes a of  c_a * log(keep_a)^2  +  0.05 * (miss / tolerance)^2
    c_mlp=1 < c_heads=c_kv=2 < c_hidden=4 < c_layers=8

where ``keep_a`` is the kept fraction of axis ``a`` (query heads and KV heads are scored separately, so
at equal query-head count the planner keeps more KV groups with fewer query heads each) and ``miss`` the
distance to the target parameter count. The weights encode Minitron's empirical ordering of
how much pruning each axis tolerates (MLP width most, then attention heads, then the hidden/embedding
width; depth is the most prone to collapse), and the squared log spreads the cut over several axes
instead of emptying one. ``width`` drops the layer axis, ``depth`` keeps only it; ``axes`` restricts
the search to any subset (e.g. ``("heads", "mlp")``). Ties break towards the larger model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from taskdistill.errors import TaskdistillError
from taskdistill.prune.adapters import Shape, adapter_for, shape_of

STRATEGIES = {
    "combined": ("mlp", "heads", "hidden", "layers"),
    "width": ("mlp", "heads", "hidden"),
    "depth": ("layers",),
}
AXES = ("mlp", "heads", "hidden", "layers")
AXIS_COST = {"mlp": 1.0, "heads": 2.0, "kv": 2.0, "hidden": 4.0, "layers": 8.0}
CLOSENESS = 0.05  # weight of (miss / tolerance)^2: among near-equal shapes prefer the one nearest the target
TOLERANCE = 0.01  # of the reference parameter count


class PlanError(TaskdistillError, ValueError):
    """The request cannot be turned into a valid shape (message says why and what is reachable)."""


@dataclass(frozen=True)
class PrunePlan:
    """An exact target shape and its bookkeeping."""

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    intermediate: int
    head_dim: int
    params: int  # parameters of the planned model (same convention as ``non_embedding``)
    target_params: int  # target * reference_params
    reference_params: int
    target: float
    strategy: str
    non_embedding: bool
    source: dict  # shape of the model the plan applies to

    @property
    def fraction(self) -> float:
        """Planned parameters / reference (teacher) parameters."""
        return self.params / self.reference_params

    @property
    def is_identity(self) -> bool:
        return self.shape_dict() == {k: self.source[k] for k in self.shape_dict()}

    def shape_dict(self) -> dict:
        return {"layers": self.layers, "hidden": self.hidden, "heads": self.heads,
                "kv_heads": self.kv_heads, "intermediate": self.intermediate, "head_dim": self.head_dim}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["fraction"] = self.fraction
        return d


def _grid(n: int, multiple: int, lo: int) -> list[int]:
    """Valid sizes for a width axis: multiples of ``multiple`` in [lo, n], plus ``n`` itself."""
    vals = set(range(max(multiple, math.ceil(lo / multiple) * multiple), n + 1, multiple))
    vals.add(n)
    return sorted(v for v in vals if v >= 1)


def _head_options(s: Shape) -> list[tuple[int, int]]:
    """(kv_heads, heads) pairs that keep grouped-query attention valid."""
    group = s.heads // s.kv_heads
    return sorted({(kv, kv * g) for kv in range(1, s.kv_heads + 1) for g in range(1, group + 1)})


def plan_shape(config, target: float, *, strategy: str = "combined", reference_params: int | None = None,
               non_embedding: bool = False, axes: tuple[str, ...] | list[str] | None = None,
               multiple: int = 8, tolerance: float = TOLERANCE) -> PrunePlan:
    """Exact shape with ``|params - target * reference| <= tolerance * reference``.

    ``reference_params`` is the TEACHER's parameter count (under the same ``non_embedding`` convention);
    it defaults to this config's own count, and stays the teacher's when a pruned student is pruned
    again. Raises ``PlanError`` for target <= 0 or > 1, a target above the current model's size, or a
    target no valid shape reaches (naming the nearest reachable fractions)."""
    if strategy not in STRATEGIES:
        raise PlanError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if not isinstance(target, int | float) or math.isnan(target) or target <= 0 or target > 1:
        raise PlanError(f"target must be a fraction in (0, 1] of the teacher's parameters, got {target!r}")
    use = tuple(axes) if axes else STRATEGIES[strategy]
    bad = [a for a in use if a not in AXES]
    if bad:
        raise PlanError(f"unknown axes {bad}; choose from {AXES}")
    if multiple < 1:
        raise PlanError(f"multiple must be >= 1, got {multiple}")
    adapter = adapter_for(config)
    s = shape_of(config)
    if s.heads % s.kv_heads:
        raise PlanError(f"config has {s.heads} heads not divisible by {s.kv_heads} KV heads")
    current = adapter.total_params(s, non_embedding)
    ref = int(reference_params) if reference_params is not None else current
    if ref <= 0:
        raise PlanError(f"reference_params must be positive, got {reference_params}")
    goal = target * ref
    tol = tolerance * ref
    if goal > current + tol:
        raise PlanError(f"target {target:.0%} of {ref:,} = {goal:,.0f} parameters is larger than the current "
                        f"model ({current:,}, {current / ref:.1%}); pruning cannot grow a model")

    def plan_for(shape: Shape, params: int) -> PrunePlan:
        return PrunePlan(layers=shape.layers, hidden=shape.hidden, heads=shape.heads, kv_heads=shape.kv_heads,
                         intermediate=shape.intermediate, head_dim=shape.head_dim, params=params,
                         target_params=round(goal), reference_params=ref, target=float(target),
                         strategy=strategy if not axes else f"{strategy}:{'+'.join(use)}",
                         non_embedding=non_embedding, source=s.as_dict())

    if abs(current - goal) <= tol:  # the current model already meets the target: exact no-op
        return plan_for(s, current)

    layer_opts = list(range(1, s.layers + 1)) if "layers" in use else [s.layers]
    head_opts = _head_options(s) if "heads" in use else [(s.kv_heads, s.heads)]
    best, best_key, near = None, None, []
    for mult in sorted({multiple, 4, 2, 1}, reverse=True):
        if mult > multiple:
            continue
        mlp_opts = _grid(s.intermediate, mult, 1) if "mlp" in use else [s.intermediate]
        for L in layer_opts:
            for kv, h in head_opts:
                step = math.lcm(mult, h) if adapter.hidden_divisible_by_heads else mult
                hidden_opts = _grid(s.hidden, step, 1) if "hidden" in use else [s.hidden]
                if adapter.hidden_divisible_by_heads:
                    hidden_opts = [H for H in hidden_opts if H % h == 0]
                for H in hidden_opts:
                    base = Shape(L, H, h, kv, 0, s.head_dim, s.vocab, s.tied)
                    fixed = adapter.total_params(base, non_embedding)
                    per_neuron = adapter.total_params(Shape(L, H, h, kv, 1, s.head_dim, s.vocab, s.tied),
                                                      non_embedding) - fixed
                    # the MLP width is the fine-grained axis: solve for it, then try the grid neighbours
                    ideal = (goal - fixed) / per_neuron if per_neuron else 0
                    cands = _neighbours(mlp_opts, ideal)
                    for inter in cands:
                        n = fixed + per_neuron * inter
                        near.append((abs(n - goal), n))
                        if abs(n - goal) > tol:
                            continue
                        keep = {"layers": L / s.layers, "heads": h / s.heads, "kv": kv / s.kv_heads,
                                "hidden": H / s.hidden, "mlp": inter / s.intermediate}
                        cost = sum(AXIS_COST[a] * math.log(keep[a]) ** 2 for a in AXIS_COST)
                        cost += CLOSENESS * ((n - goal) / tol) ** 2
                        key = (round(cost, 9), -n)
                        if best_key is None or key < best_key:
                            best_key = key
                            best = plan_for(Shape(L, H, h, kv, inter, s.head_dim, s.vocab, s.tied), n)
                    if len(near) > 4096:
                        near = sorted(near)[:8]
        if best is not None:
            return best
    reach = sorted({round(n / ref, 4) for _, n in sorted(near)[:6]})
    raise PlanError(
        f"no valid shape along axes {'+'.join(use)} has {target:.1%} of {ref:,} parameters within "
        f"±{tolerance:.0%}; nearest reachable fractions: {', '.join(f'{r:.2%}' for r in reach)}. "
        "Pick one of those, or a strategy with more axes (e.g. 'combined')"
    )


def _neighbours(options: list[int], ideal: float) -> list[int]:
    """The grid values bracketing ``ideal`` (the grid is sorted)."""
    import bisect

    i = bisect.bisect_left(options, ideal)
    return [options[j] for j in (i - 1, i) if 0 <= j < len(options)]


def plan_from_model(model, target: float, **kwargs) -> PrunePlan:
    """``plan_shape`` on a loaded model's config."""
    return plan_shape(model.config, target, **kwargs)


PAPER_STEPS = (0.79, 0.58, 0.37, 0.16)


def paper_steps() -> list[float]:
    """The paper's compression grid: 100% -> 79% -> 58% -> 37% -> 16% of the teacher's parameters. The
    schedules that walk it (iterative, one-shot) are the sweep's (``taskdistill.sweep.dag``)."""
    return list(PAPER_STEPS)
