"""Tokenised training examples: prompt + target, with the loss restricted to the target.

Every loss in taskdistill (SFT cross-entropy, logit KD, the blended CoT loss) is computed only at the
*supervised positions*: the positions whose next token belongs to the assistant's answer. An
``Example`` stores them once, with a segment tag per target token, so that

- the teacher top-k cache (``taskdistill.targets.cache``) stores exactly one teacher distribution
  per supervised position, aligned with the example, and
- the blended CoT loss can tell the reasoning ``trace`` tokens from the final ``answer`` tokens
  (the task's answer, e.g. ``[[label]]``, plus the end-of-turn token, which teaches the model to stop).

The prompt is ``render_prompt(tokenizer, task, text, fmt)`` and the target is ``target_text(task,
label, fmt, trace)`` followed by the end-of-turn token, tokenised *together* (as a model would produce
them) and split into segments with the tokenizer's character offsets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from taskdistill.errors import TaskdistillError
from taskdistill.task import Task
from taskdistill.task.prompts import THINK_CLOSE, render_prompt, target_text

SEGMENTS = ("trace", "answer")


class ExampleError(TaskdistillError, ValueError):
    """A data row that cannot become a training example; the message names the row and field."""


@dataclass(frozen=True)
class Example:
    """One tokenised training example.

    ``input_ids`` holds prompt + target tokens. The target starts at ``prompt_len``; ``segments[j]``
    tags target token ``prompt_len + j`` as ``"trace"`` or ``"answer"``. The logits that predict the
    target sit one position earlier: ``positions`` (``prompt_len - 1 .. len - 2``).
    """

    id: str
    input_ids: tuple[int, ...]
    prompt_len: int
    segments: tuple[str, ...]
    fmt: str = "label"
    label: str = ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n_target = len(self.input_ids) - self.prompt_len
        if self.prompt_len < 1 or n_target < 1:
            raise ExampleError(f"example {self.id!r}: needs a non-empty prompt and target "
                               f"(prompt_len={self.prompt_len}, length={len(self.input_ids)})")
        if len(self.segments) != n_target:
            raise ExampleError(f"example {self.id!r}: {len(self.segments)} segment tags for "
                               f"{n_target} target tokens")
        bad = set(self.segments) - set(SEGMENTS)
        if bad:
            raise ExampleError(f"example {self.id!r}: unknown segment tags {sorted(bad)}")

    @property
    def n_supervised(self) -> int:
        return len(self.segments)

    @property
    def positions(self) -> range:
        """Sequence positions whose logits predict the target tokens."""
        return range(self.prompt_len - 1, len(self.input_ids) - 1)

    @property
    def targets(self) -> tuple[int, ...]:
        return self.input_ids[self.prompt_len:]

    @property
    def has_trace(self) -> bool:
        return "trace" in self.segments

    def content_hash(self) -> str:
        """Hash of what the teacher saw and what is supervised (id excluded: content only)."""
        h = hashlib.sha256()
        h.update(json.dumps([list(self.input_ids), self.prompt_len, list(self.segments)]).encode())
        return h.hexdigest()[:16]


def examples_hash(examples: Sequence[Example]) -> str:
    """Order-sensitive hash of a list of examples (ids + token content): the ``data_hash`` of a
    teacher cache built from them."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(ex.id.encode())
        h.update(b"\0")
        h.update(ex.content_hash().encode())
    return h.hexdigest()[:16]


def end_of_turn_id(tokenizer) -> int:
    """The token that closes an assistant turn: ``<|im_end|>`` for ChatML models, else EOS."""
    tid = tokenizer.convert_tokens_to_ids("<|im_end|>")
    unk = getattr(tokenizer, "unk_token_id", None)
    if isinstance(tid, int) and tid >= 0 and tid != unk:
        return tid
    if tokenizer.eos_token_id is None:
        raise ExampleError("tokenizer has neither <|im_end|> nor an eos token to end the answer")
    return int(tokenizer.eos_token_id)


def _encode_target(tokenizer, text: str, answer_start: int) -> tuple[list[int], list[str]]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    # A token belongs to the answer as soon as it covers any character of the answer ("[[label]]").
    segs = ["answer" if end > answer_start else "trace" for _, end in enc["offset_mapping"]]
    return ids, segs


def encode_example(tokenizer, task: Task, ex_id: str, text: str, label: str, fmt: str = "label",
                   trace: str | None = None, max_length: int = 128) -> Example:
    """Tokenise one row of ``task``. In ``cot`` format a trace that does not fit ``max_length`` is cut
    (at a character boundary, keeping ``</think>`` and the answer), because the answer is what matters."""
    if fmt not in ("label", "cot"):
        raise ExampleError(f"row {ex_id!r}: unknown format {fmt!r}; choose 'label' or 'cot'")
    if label not in task.label_names:
        raise ExampleError(f"row {ex_id!r}: field 'label' = {label!r} is not one of the {task.n_classes} "
                           f"labels of task {task.name!r}")
    if not isinstance(text, str) or not text.strip():
        raise ExampleError(f"row {ex_id!r}: field {task.input_field!r} is empty")
    prompt_ids = tokenizer(render_prompt(tokenizer, task, text, fmt), add_special_tokens=False)["input_ids"]
    eot = end_of_turn_id(tokenizer)
    if fmt == "cot":
        trace = (trace or "").strip()
        if not trace:
            raise ExampleError(f"row {ex_id!r}: the cot format needs a reasoning trace, but the "
                               "teacher trace and the field 'rationale' are both empty")
    while True:
        target = target_text(task, label, fmt, trace)
        answer_start = len(target) - len(task.answer_text(label))
        ids, segs = _encode_target(tokenizer, target, answer_start)
        ids, segs = ids + [eot], segs + ["answer"]
        total = len(prompt_ids) + len(ids)
        if total <= max_length:
            break
        n_answer = segs.count("answer")
        if fmt == "label" or len(prompt_ids) + n_answer + 8 > max_length:
            raise ExampleError(f"row {ex_id!r}: prompt + answer take {len(prompt_ids) + n_answer} tokens, "
                               f"more than max_length={max_length}; raise max_length")
        # Shrink the trace in proportion to the overflow (always by at least one character).
        over = total - max_length
        n_trace = max(1, len(ids) - n_answer)
        keep = int(len(trace) * max(0.0, 1 - (over + 1) / n_trace))
        keep = min(keep, len(trace) - 1)
        if keep <= 0:
            raise ExampleError(f"row {ex_id!r}: no room for a trace within max_length={max_length}")
        trace = trace[:keep].rstrip()
        if not trace:
            raise ExampleError(f"row {ex_id!r}: no room for a trace within max_length={max_length}")
    assert THINK_CLOSE not in task.answer_text(label)
    return Example(id=str(ex_id), input_ids=tuple(prompt_ids + ids), prompt_len=len(prompt_ids),
                   segments=tuple(segs), fmt=fmt, label=label)


def required_columns(task: Task) -> tuple[str, str, str]:
    return ("id", task.input_field, "label")


def build_examples(tokenizer, task: Task, df, *, fmt: str = "label", traces: dict[str, str] | None = None,
                   max_length: int = 128) -> list[Example]:
    """Examples for every row of a split DataFrame of ``task`` (columns ``id``, ``task.input_field``,
    ``label`` and, for ``cot`` without teacher traces, ``rationale``).

    In ``cot`` format the trace is the teacher's (``traces[id]``) when given, else the gold
    ``rationale``. Rows are kept in DataFrame order so the cache index matches.
    """
    required = required_columns(task)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ExampleError(f"data is missing column(s) {missing}; a split file of task {task.name!r} needs "
                           f"{list(required)} (+ 'rationale' for cot)")
    if fmt == "cot" and traces is None and "rationale" not in df.columns:
        raise ExampleError("the cot format needs reasoning traces: pass teacher traces or data with a "
                           "'rationale' column")
    ids = [str(i) for i in df["id"].tolist()]
    dup = {i for i in ids if ids.count(i) > 1} if len(set(ids)) != len(ids) else set()
    if dup:
        raise ExampleError(f"data has duplicate ids: {sorted(dup)[:5]}")
    out: list[Example] = []
    rationales = df["rationale"].tolist() if "rationale" in df.columns else [None] * len(df)
    for ex_id, text, label, rationale in zip(ids, df[task.input_field].tolist(), df["label"].tolist(),
                                             rationales, strict=True):
        trace = None
        if fmt == "cot":
            trace = traces.get(ex_id) if traces is not None else None
            if not trace:
                trace = rationale if isinstance(rationale, str) else None
        out.append(encode_example(tokenizer, task, ex_id, text, label, fmt, trace, max_length))
    return out


def iter_lengths(examples: Iterable[Example]) -> list[int]:
    return [len(ex.input_ids) for ex in examples]
