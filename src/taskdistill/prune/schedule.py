"""Pruning schedules: the paper's constant steps of model size, or any list of targets.

Targets are always fractions of the *teacher's* parameters. ``iterative_steps`` turns a list of targets
into (step, from, to) records: each step prunes the previous step's (distilled) student, recomputing
importance on it, with ``reference_params`` fixed to the teacher's count.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER_STEPS = (0.79, 0.58, 0.37, 0.16)


def paper_steps() -> list[float]:
    """The paper's grid: 100% -> 79% -> 58% -> 37% -> 16% of the teacher's parameters."""
    return list(PAPER_STEPS)


@dataclass(frozen=True)
class Step:
    index: int
    start: float  # fraction of the teacher the step starts from (1.0 for the teacher itself)
    target: float  # fraction of the teacher after the step

    @property
    def relative(self) -> float:
        """Fraction of the *current* model kept by this step."""
        return self.target / self.start


def iterative_steps(targets: list[float] | tuple[float, ...] | None = None, start: float = 1.0) -> list[Step]:
    """Validated, ordered steps; targets must be in (0, 1] and strictly decreasing below ``start``."""
    ts = list(PAPER_STEPS if targets is None else targets)
    if not ts:
        raise ValueError("a schedule needs at least one target")
    prev = start
    steps = []
    for i, t in enumerate(ts):
        if not isinstance(t, int | float) or not 0 < t <= 1:
            raise ValueError(f"schedule target #{i} = {t!r} is not a fraction in (0, 1]")
        if t >= prev:
            raise ValueError(f"schedule target #{i} = {t} does not shrink the model (previous step {prev}); "
                             "targets must be strictly decreasing fractions of the teacher")
        steps.append(Step(i, prev, float(t)))
        prev = t
    return steps


def oneshot_steps(target: float) -> list[Step]:
    """A single step straight from the teacher to ``target``."""
    return iterative_steps([target])
