"""The one prompt and answer format every model (teacher, students, baselines) uses for a task.

Prompts are short on purpose: every prompt token costs training and scoring time, so the labels are
*not* listed in the prompt; the model learns them from supervision.

- ``label`` format: the assistant's answer is the task's answer format, e.g. ``[[label]]``.
- ``cot`` format: the assistant first reasons in ``<think>…</think>``, then answers.

``render_prompt`` applies the tokenizer's chat template (ChatML for SmolLM2 and the tiny test
tokenizer) and ends at the start of the assistant turn; ``target_text`` is what follows it.
Encode rendered prompts with ``add_special_tokens=False``: the template already holds the specials.
"""

from __future__ import annotations

import re

from taskdistill.task.model import FORMATS, Task

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


class AnswerParseError(ValueError):
    """A model output that does not hold exactly one valid answer."""


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown prompt format {fmt!r}; choose one of {FORMATS}")


def instruction(task: Task, fmt: str) -> str:
    _check_format(fmt)
    return getattr(task.instructions, fmt)


def messages(task: Task, text: str, fmt: str = "label") -> list[dict[str, str]]:
    return [{"role": "system", "content": instruction(task, fmt)}, {"role": "user", "content": text}]


def render_prompt(tokenizer, task: Task, text: str, fmt: str = "label") -> str:
    """Prompt text up to and including the assistant-turn header."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages(task, text, fmt), tokenize=False,
                                             add_generation_prompt=True)
    return f"{instruction(task, fmt)}\nInput: {text}\nAnswer: "


def answer_text(task: Task, label: str) -> str:
    return task.answer_text(label)


def target_text(task: Task, label: str, fmt: str = "label", rationale: str | None = None) -> str:
    """What the assistant should say after the prompt (without the end-of-turn token)."""
    _check_format(fmt)
    if fmt == "label":
        return task.answer_text(label)
    if not rationale:
        raise ValueError("the cot format needs a rationale (a reasoning trace)")
    return f"{THINK_OPEN}{rationale.strip()}{THINK_CLOSE}\n{task.answer_text(label)}"


def _answer_pattern(task: Task) -> re.Pattern:
    pre, post = re.escape(task.answer_prefix), re.escape(task.answer_suffix)
    return re.compile(pre + r"(.*?)" + post, re.S)


def parse_answer(text: str, task: Task) -> str:
    """Strictly read the single answer after any ``</think>``.

    Errors (never guesses): no answer, an unknown label, two or more answers, or an unterminated
    ``<think>``."""
    if THINK_OPEN in text and THINK_CLOSE not in text:
        raise AnswerParseError(f"unterminated {THINK_OPEN} in output: {text[:80]!r}")
    tail = text.rsplit(THINK_CLOSE, 1)[-1]
    found = _answer_pattern(task).findall(tail)
    if not found:
        raise AnswerParseError(f"no {task.answer_format} answer in output: {tail[:80]!r}")
    if len(found) > 1:
        raise AnswerParseError(f"{len(found)} answers in output, expected one: {found}")
    label = found[0].strip()
    if label not in task.label_names:
        raise AnswerParseError(f"unknown label {label!r} in output")
    return label


def split_cot(text: str) -> tuple[str, str]:
    """(trace, rest) of a cot output; trace is '' when there is no think block."""
    if THINK_OPEN not in text:
        return "", text
    head, _, rest = text.partition(THINK_OPEN)
    trace, sep, after = rest.partition(THINK_CLOSE)
    if not sep:
        raise AnswerParseError(f"unterminated {THINK_OPEN} in output: {text[:80]!r}")
    return trace.strip(), after
