"""LLM paraphrases of labelled texts, kept only when their label survives (experimental).

A local instruct model (``load_model`` spec, e.g. ``qwen2.5-coder-0.5b-instruct``) rewrites each
labelled text in another style (for headlines: newswire / aggregator copy), keeping its facts. Nothing
guarantees the rewrite still carries the label, so every paraphrase goes through:

1. the pipeline's malformed-output filter (``filters.filter_batch``: empty, too short/long, multi-line,
   broken characters, prompt echo, label leak), counted by reason;
2. ``unchanged``: the rewrite normalises to its source text (nothing gained);
3. ``label_changed``: a label checker (e.g. ``ProbeChecker``, a bag-of-words logistic regression trained
   on labelled template data) predicts another label than the source's;
4. ``duplicate``: the pipeline's exact/normalised dedup (``ExactDeduper``) against the source texts
   and the paraphrases kept so far;
5. ``near_duplicate`` (when an ``embedder`` is given): the pipeline's semantic dedup (``SemanticIndex``,
   MiniLM cosine >= ``threshold``, default 0.9 as in ``SynthConfig``) against the sources and the
   paraphrases kept so far: a rewrite that only swaps a word is a near copy of its source.

``paraphrase_samples`` returns the kept ``Sample``s (label = the source's, ``kind`` = ``paraphrase:<source
kind>``) and the counts per reason.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from taskdistill.data.synth.backends import clean_completion
from taskdistill.data.synth.dedup import ExactDeduper, normalize
from taskdistill.data.synth.filters import filter_batch
from taskdistill.data.synth.templates import Sample
from taskdistill.task import Task

#: Reasons a paraphrase is dropped after the malformed-output filter's own reasons.
CHECK_REASONS = ("unchanged", "label_changed", "duplicate", "near_duplicate")


def paraphrase_messages(task: Task, text: str) -> list[dict[str, str]]:
    """Chat prompt asking to rewrite one input text of ``task`` in another style, keeping its facts."""
    what = task.input_field.replace("_", " ")
    about = f" ({task.description})" if task.description else ""
    return [
        {"role": "system", "content": f"You are a news editor who rewrites {what} texts{about}."},
        {"role": "user", "content": (
            f"Rewrite this {what} as a real newswire or news-aggregator {what} would phrase it, with other wording. "
            f"Keep all its facts and names and numbers. Reply with the rewritten {what} only, on one line.\n\n"
            f"{text}")},
    ]


@dataclass
class GenStats:
    """Generation cost: texts in, new tokens out, seconds spent in ``generate``."""

    texts: int = 0
    new_tokens: int = 0
    seconds: float = 0.0
    batches: int = 0

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


class Paraphraser:
    """Batched chat generation from a local instruct model; greedy by default (``temperature`` 0)."""

    def __init__(self, model_spec: str, task: Task, batch_size: int = 16, max_new_tokens: int = 40,
                 temperature: float = 0.0, seed: int = 0, quiet: bool = True):
        from taskdistill.models import load_model

        self.task, self.seed = task, seed
        self.model, self.tok = load_model(model_spec, quiet=quiet)
        self.tok.padding_side = "left"
        self.batch_size, self.max_new_tokens, self.temperature = batch_size, max_new_tokens, temperature
        self.stats = GenStats()

    def rewrite(self, texts: Sequence[str]) -> list[str]:
        """One cleaned rewrite per text (first non-empty line of the completion; may be empty)."""
        import torch

        out: list[str] = []
        torch.manual_seed(self.seed)
        sample = self.temperature > 0
        extra = dict(do_sample=True, temperature=self.temperature, top_p=0.95) if sample else dict(do_sample=False)
        for s in range(0, len(texts), self.batch_size):
            chunk = list(texts[s:s + self.batch_size])
            prompts = [self.tok.apply_chat_template(paraphrase_messages(self.task, t), tokenize=False,
                                                    add_generation_prompt=True) for t in chunk]
            enc = self.tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            t0 = time.perf_counter()
            with torch.no_grad():
                gen = self.model.generate(**enc, max_new_tokens=self.max_new_tokens,
                                          pad_token_id=self.tok.pad_token_id, **extra)
            self.stats.seconds += time.perf_counter() - t0
            new = gen[:, enc["input_ids"].shape[1]:]
            self.stats.new_tokens += int((new != self.tok.pad_token_id).sum())
            self.stats.texts += len(chunk)
            self.stats.batches += 1
            out += [clean_completion(t) for t in self.tok.batch_decode(new, skip_special_tokens=True)]
        return out


class ProbeChecker:
    """Label checker: uni+bigram bag-of-words logistic regression trained on labelled texts.

    ``ok(texts, labels)`` says, per text, whether the predicted label (or its group, with
    ``level="group"``) equals the given one."""

    def __init__(self, texts: Sequence[str], labels: Sequence[str], task: Task, level: str = "label", seed: int = 0):
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression

        if level not in ("label", "group"):
            raise ValueError(f"level must be 'label' or 'group', got {level!r}")
        self.task, self.level = task, level
        self.vec = CountVectorizer(ngram_range=(1, 2), min_df=2, lowercase=True)
        self.clf = LogisticRegression(max_iter=2000, C=2.0, random_state=seed)
        self.clf.fit(self.vec.fit_transform(list(texts)), list(labels))

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(p) for p in self.clf.predict(self.vec.transform(list(texts)))]

    def ok(self, texts: Sequence[str], labels: Sequence[str]) -> list[bool]:
        key = (lambda x: x) if self.level == "label" else self.task.group
        return [key(p) == key(lab) for p, lab in zip(self.predict(texts), labels, strict=True)]


@dataclass
class ParaphraseResult:
    kept: list[Sample]
    counts: Counter = field(default_factory=Counter)  # generated, kept, and one count per drop reason
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # (source, paraphrase, fate) for inspection


def check_paraphrases(sources: Sequence[Sample], rewrites: Sequence[str], task: Task,
                      label_ok: Callable[[list[str], list[str]], list[bool]],
                      seen: ExactDeduper | None = None, min_words: int = 3, max_words: int = 40,
                      embedder=None, threshold: float = 0.9) -> ParaphraseResult:
    """Filter, label-check and dedup the rewrites of ``sources`` (see module docstring for the order).

    ``seen`` holds the texts a paraphrase may not duplicate (default: the sources themselves); kept
    paraphrases are added to it. With ``embedder`` (``embed.Embedder``), rewrites within cosine
    ``threshold`` of a source or of a kept rewrite are dropped as near duplicates."""
    if len(sources) != len(rewrites):
        raise ValueError(f"{len(sources)} sources but {len(rewrites)} rewrites")
    if seen is None:
        seen = ExactDeduper(normalize(s.headline) for s in sources)
    keep, counts = filter_batch(list(rewrites), task, (), min_words, max_words)
    counts["generated"] = len(rewrites)
    fate = ["filtered"] * len(rewrites)
    cand = [i for i, k in enumerate(keep) if k]
    unchanged = {i for i in cand if normalize(rewrites[i]) == normalize(sources[i].headline)}
    counts["unchanged"] = len(unchanged)
    cand = [i for i in cand if i not in unchanged]
    for i in unchanged:
        fate[i] = "unchanged"
    oks = label_ok([rewrites[i] for i in cand], [sources[i].label for i in cand]) if cand else []
    new = []
    for i, ok in zip(cand, oks, strict=True):
        if not ok:
            counts["label_changed"] += 1
            fate[i] = "label_changed"
        elif not seen.add(rewrites[i]):
            counts["duplicate"] += 1
            fate[i] = "duplicate"
        else:
            new.append(i)
    if embedder is not None and new:
        from taskdistill.data.synth.dedup import SemanticIndex

        index = SemanticIndex(dim=embedder.dim, threshold=threshold)
        index.load_state(embedder.encode([s.headline for s in sources]), None)
        near = ~index.add_batch(embedder.encode([rewrites[i] for i in new]))
        for i in (i for i, n in zip(new, near, strict=True) if n):
            counts["near_duplicate"] += 1
            fate[i] = "near_duplicate"
        new = [i for i, n in zip(new, near, strict=True) if not n]
    kept: list[Sample] = []
    for i in new:
        src = sources[i]
        kept.append(Sample(rewrites[i], src.label,
                           f"{src.rationale} (Paraphrased by a language model; label re-checked.)".strip(),
                           f"paraphrase:{src.kind}", dict(src.fields, source=src.headline)))
        fate[i] = "kept"
    counts["kept"] = len(kept)
    return ParaphraseResult(kept, counts, [(s.headline, r, f) for s, r, f in zip(sources, rewrites, fate, strict=True)])


def paraphrase_samples(sources: Sequence[Sample], paraphraser: Paraphraser, task: Task,
                       label_ok: Callable[[list[str], list[str]], list[bool]], seen: ExactDeduper | None = None,
                       min_words: int = 3, max_words: int = 40, embedder=None, threshold: float = 0.9) -> ParaphraseResult:
    """Rewrite ``sources`` with ``paraphraser`` and keep the rewrites that pass ``check_paraphrases``."""
    rewrites = paraphraser.rewrite([s.headline for s in sources])
    return check_paraphrases(sources, rewrites, task, label_ok, seen, min_words, max_words, embedder, threshold)
