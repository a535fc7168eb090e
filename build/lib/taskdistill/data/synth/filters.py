"""Filter malformed generations, counted by reason (model backends produce all of these).

Reasons: ``empty``, ``too_short``, ``too_long`` (word bounds), ``prompt_echo`` (the output repeats
the generation instruction or a few-shot example verbatim), ``label_leak`` (the class name or a
``[[label]]`` / "Label:" tag appears in the headline), ``broken_chars`` (replacement characters,
control characters, unbalanced mojibake), ``multi_line`` (a list instead of one headline).
"""

from __future__ import annotations

import re
from collections import Counter

from taskdistill.task import Task

REASONS = ("empty", "too_short", "too_long", "multi_line", "broken_chars", "prompt_echo", "label_leak")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MOJIBAKE = re.compile(r"(Ã.|â€|Â\s|\ufffd)")
_LEAK = re.compile(r"\[\[|\]\]|\b(label|category|class)\s*[:=]", re.IGNORECASE)
_ECHO = re.compile(r"\b(write|generate|here (is|are)|headline:|example[s]?:|as an ai)\b", re.IGNORECASE)
# Class names are ordinary words ("merger", "earnings in line with expectations"), so a label inside
# a text is not a leak; a text that IS a bare label (or an alias of one), or carries an answer tag, is.


def label_keys(task: Task) -> frozenset[str]:
    """Case-folded labels and aliases of ``task``: a generated text equal to one of them is a leak."""
    return frozenset(s.casefold() for s in (*task.label_names, *task.aliases))


def check(headline: str, min_words: int = 3, max_words: int = 40, echo_texts: tuple[str, ...] = (),
          labels: frozenset[str] = frozenset()) -> str | None:
    """The first reason ``headline`` is malformed, or None when it is fine (``labels``: ``label_keys``)."""
    if not headline or not headline.strip():
        return "empty"
    if "\n" in headline.strip():
        return "multi_line"
    n = len(headline.split())
    if n < min_words:
        return "too_short"
    if n > max_words:
        return "too_long"
    if _CONTROL.search(headline) or _MOJIBAKE.search(headline):
        return "broken_chars"
    low = headline.casefold()
    if _ECHO.search(headline) or any(e and e.casefold() == low.strip() for e in echo_texts):
        return "prompt_echo"
    if _LEAK.search(headline) or low.strip(" .") in labels:
        return "label_leak"
    return None


def filter_batch(headlines: list[str], task: Task, echo_texts: tuple[str, ...] = (), min_words: int = 3,
                 max_words: int = 40) -> tuple[list[bool], Counter]:
    """Keep-mask and per-reason counts for a batch of generated texts of ``task``."""
    counts: Counter = Counter()
    keep = []
    labels = label_keys(task)
    for h in headlines:
        r = check(h, min_words, max_words, echo_texts, labels)
        keep.append(r is None)
        if r:
            counts[r] += 1
    return keep, counts
