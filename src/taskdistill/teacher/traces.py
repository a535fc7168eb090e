"""Checking teacher-written chain-of-thought traces and deciding which ones students learn from.

A trace is only useful as supervision if it parses: one ``<think>…</think>`` block, then exactly one
answer (e.g. ``[[label]]``) naming one of the task's labels (``taskdistill.task.prompts`` is strict
and never guesses). Unparseable outputs are always dropped. A parseable trace whose answer disagrees with the
gold label is handled by a *policy*:

- ``keep``: keep the trace, supervise the **gold** label after it. Most data; the answer the student
  learns is always right, but the reasoning may argue for another class.
- ``drop``: drop it. The student only sees traces that reach the gold answer (rejection sampling, as
  in STaR-style filtering); fewer but self-consistent examples.
- ``relabel``: keep the trace and supervise the **teacher's** answer after it. Trace and answer stay
  consistent and the student imitates the teacher exactly (hard-label KD), mistakes included.
"""

from __future__ import annotations

from dataclasses import dataclass

from taskdistill.errors import InputError
from taskdistill.task import Task
from taskdistill.task.prompts import THINK_CLOSE, THINK_OPEN, AnswerParseError, parse_answer, split_cot
from taskdistill.teacher.config import POLICIES


@dataclass(frozen=True)
class CheckedTrace:
    """One teacher output after parsing and the policy decision (a row of ``traces.parquet``)."""

    id: str
    raw: str  # what the teacher wrote, verbatim
    trace: str  # the reasoning inside <think></think> ('' when unparseable)
    parsed_label: str | None  # the teacher's answer, None when unparseable
    gold: str
    agrees: bool  # parsed_label == gold
    kept: bool  # used as CoT supervision
    target_label: str | None  # the answer supervised after the trace (None when not kept)
    error: str  # why it could not be parsed ('' when it could)


def check_trace(id_: str, raw: str, gold: str, task: Task, policy: str = "keep") -> CheckedTrace:
    """Parse one teacher output (answers in ``task``'s labels) and apply ``policy`` (see the module
    docstring)."""
    if policy not in POLICIES:
        raise InputError("--policy", f"unknown trace policy {policy!r}; choose one of {POLICIES}")
    error = ""
    trace, label = "", None
    try:
        if THINK_OPEN not in raw:
            raise AnswerParseError(f"no {THINK_OPEN}…{THINK_CLOSE} block in output: {raw[:80]!r}")
        trace, _rest = split_cot(raw)
        if not trace:
            raise AnswerParseError("empty reasoning inside the think block")
        label = parse_answer(raw, task)
    except AnswerParseError as exc:
        error, trace, label = str(exc), "", None
    agrees = label is not None and label == gold
    if label is None:
        kept, target = False, None
    elif agrees or policy == "keep":
        kept, target = True, gold
    elif policy == "relabel":
        kept, target = True, label
    else:  # drop
        kept, target = False, None
    return CheckedTrace(id=str(id_), raw=raw, trace=trace, parsed_label=label, gold=gold, agrees=agrees,
                        kept=kept, target_label=target, error=error)


def summarize(checked: list[CheckedTrace]) -> dict:
    """Counts for the annotation report: how many parsed, agreed with gold, were kept."""
    n = len(checked)
    parsed = sum(c.parsed_label is not None for c in checked)
    agree = sum(c.agrees for c in checked)
    kept = sum(c.kept for c in checked)
    return {
        "n": n,
        "parsed": parsed,
        "unparseable": n - parsed,
        "agree_with_gold": agree,
        "disagree_with_gold": parsed - agree,
        "kept": kept,
        "parse_rate": parsed / n if n else 0.0,
        "agreement_rate": agree / parsed if parsed else 0.0,
    }
