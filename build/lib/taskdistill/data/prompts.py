"""The one prompt and answer format every model (teacher, students, baselines) uses.

Prompts are short on purpose: on a 2-core CPU every prompt token costs training and scoring time,
so the 35 labels are *not* listed in the prompt; the model learns them from supervision.

- ``label`` format: the assistant's answer is ``[[label]]``.
- ``cot`` format: the assistant first reasons in ``<think>…</think>``, then answers ``[[label]]``.

``render_prompt`` applies the tokenizer's chat template (ChatML for SmolLM2 and the tiny test
tokenizer) and ends at the start of the assistant turn; ``target_text`` is what follows it.
Encode rendered prompts with ``add_special_tokens=False``: the template already holds the specials.
"""

from __future__ import annotations

import re

from taskdistill.data.taxonomy import LABELS

FORMATS = ("label", "cot")
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
INSTRUCTIONS = {
    "label": "Classify the financial headline's event type. Answer as [[type]].",
    "cot": "Classify the financial headline's event type. Reason briefly in <think></think>, "
    "then answer as [[type]].",
}


class AnswerParseError(ValueError):
    """A model output that does not hold exactly one valid ``[[label]]``."""


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown prompt format {fmt!r}; choose one of {FORMATS}")


def messages(headline: str, fmt: str = "label") -> list[dict[str, str]]:
    _check_format(fmt)
    return [{"role": "system", "content": INSTRUCTIONS[fmt]}, {"role": "user", "content": headline}]


def render_prompt(tokenizer, headline: str, fmt: str = "label") -> str:
    """Prompt text up to and including the assistant-turn header."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages(headline, fmt), tokenize=False,
                                             add_generation_prompt=True)
    return f"{INSTRUCTIONS[fmt]}\nHeadline: {headline}\nAnswer: "


def answer_text(label: str) -> str:
    return f"[[{label}]]"


def target_text(label: str, fmt: str = "label", rationale: str | None = None) -> str:
    """What the assistant should say after the prompt (without the end-of-turn token)."""
    _check_format(fmt)
    if fmt == "label":
        return answer_text(label)
    if not rationale:
        raise ValueError("the cot format needs a rationale (a reasoning trace)")
    return f"{THINK_OPEN}{rationale.strip()}{THINK_CLOSE}\n{answer_text(label)}"


_ANSWER = re.compile(r"\[\[([^\[\]]*)\]\]")


def parse_answer(text: str, labels: tuple[str, ...] = LABELS) -> str:
    """Strictly read the single ``[[label]]`` after any ``</think>``.

    Errors (never guesses): no brackets, an unknown label, two or more bracketed answers, or an
    unterminated ``<think>``."""
    if THINK_OPEN in text and THINK_CLOSE not in text:
        raise AnswerParseError(f"unterminated {THINK_OPEN} in output: {text[:80]!r}")
    tail = text.rsplit(THINK_CLOSE, 1)[-1]
    found = _ANSWER.findall(tail)
    if not found:
        raise AnswerParseError(f"no [[label]] in output: {tail[:80]!r}")
    if len(found) > 1:
        raise AnswerParseError(f"{len(found)} answers in output, expected one: {found}")
    label = found[0].strip()
    if label not in labels:
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
