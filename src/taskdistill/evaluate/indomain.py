"""In-domain evaluation: a probability over the task's labels for every input, then metrics.

The model is never asked to *generate* its answer: we read its distribution over the task's label
strings. For each input text, the score of label ``l`` is the summed token log-probability of the
continuation ``task.answer_text(l)`` (e.g. ``[[l]]``) right after the prompt (``render_prompt(tok,
task, text, fmt)``), and the K scores are normalised with a softmax over the labels. Every model
(teacher, any student) thus gets a full probability vector, which gold NLL and Brier need, and a
malformed answer cannot happen.

Prompt and continuation are tokenized separately and concatenated (``encode(prompt) +
encode("[[l]]")``, no special tokens added): the same split training uses, so the scored tokens are
the trained tokens.

All K continuations of a prompt are scored in one forward pass over the prompt plus a token trie
of the labels (see ``taskdistill.evaluate.scoring``): the prompt's keys/values are computed once.

Group-level metrics (``macro_f1_coarse``: true and predicted labels mapped to their groups) exist
only when the task has groups.

**Transfer evaluation** (``model_task`` differs from ``task``): a model trained on one task (e.g.
the 35 finheadlines labels) is scored on data labelled for a task *derived* from it (e.g.
finheadlines-coarse, its 13 groups): the model answers in its own labels, and its probability
vector is summed per derived label (each model label goes to its group), so every metric, the
per-label table and the confusion matrix are at the derived level.

``mode="cot"`` is for chain-of-thought students: the trace is generated greedily first (batched,
at most ``max_new_tokens``, stopping at ``</think>``), and the labels are scored after
``<trace></think>\\n``. A trace that never closes is cut at the cap and closed by us; how often that
happened is reported (``cot.forced_close``), because it changes what the number means.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from taskdistill.errors import InputError, TaskdistillError
from taskdistill.evaluate import metrics as M
from taskdistill.evaluate.scoring import score_trees
from taskdistill.progress import progress_bar
from taskdistill.targets.record import task_ref
from taskdistill.task import Task, load_task
from taskdistill.task.prompts import THINK_CLOSE, render_prompt

MODES = ("label", "cot")


class LabelEncodingError(TaskdistillError, ValueError):
    """The tokenizer cannot represent a label string faithfully, so its score would be meaningless."""


class SplitError(TaskdistillError, ValueError):
    """The evaluation split is empty or malformed; the message names the file, row and field."""


class TransferError(TaskdistillError, ValueError):
    """A task that cannot be scored with a model of another task (not derived from it)."""


def label_token_ids(tokenizer, task: Task) -> list[list[int]]:
    """Token ids of the answer (e.g. ``[[label]]``) for every label of ``task``, checked to decode
    back to the same text.

    A tokenizer that maps characters to an unknown token (or drops them) would make two labels
    look alike or score a different string; that is an error, not a silent fallback."""
    out = []
    unk = getattr(tokenizer, "unk_token_id", None)
    seen: dict[tuple[int, ...], str] = {}
    for label in task.label_names:
        text = task.answer_text(label)
        ids = tokenizer.encode(text, add_special_tokens=False)
        if not ids:
            raise LabelEncodingError(f"tokenizer encodes label {label!r} ({text!r}) to no tokens")
        if unk is not None and unk in ids:
            raise LabelEncodingError(f"tokenizer maps part of label {label!r} ({text!r}) to the unknown token "
                                     f"{tokenizer.unk_token!r}; it cannot score this label")
        back = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if back != text:
            raise LabelEncodingError(f"tokenizer cannot encode label {label!r}: {text!r} decodes back as {back!r}")
        if tuple(ids) in seen:
            raise LabelEncodingError(f"labels {seen[tuple(ids)]!r} and {label!r} encode to the same tokens")
        seen[tuple(ids)] = label
        out.append(list(ids))
    return out


def _check_mode(fmt: str, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown scoring mode {mode!r}; choose one of {MODES}")
    if fmt not in ("label", "cot"):
        raise ValueError(f"unknown prompt format {fmt!r}; choose 'label' or 'cot'")


@torch.no_grad()
def generate_traces(model, tokenizer, prompts: list[list[int]], *, batch_size: int = 16,
                    max_new_tokens: int = 64, advance=None) -> list[tuple[str, bool]]:
    """Greedy continuation of each prompt up to ``</think>`` (or the cap): (text through the
    close tag, forced) where ``forced`` says the close tag was added by us."""
    device = next(model.parameters()).device
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos if eos is not None else 0)
    out: list[tuple[str, bool] | None] = [None] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        width = max(len(prompts[i]) for i in idx)
        ids = torch.full((len(idx), width), pad, dtype=torch.long)
        att = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):  # left padding regardless of tokenizer.padding_side
            ids[r, width - len(prompts[i]):] = torch.tensor(prompts[i])
            att[r, width - len(prompts[i]):] = 1
        gen = model.generate(input_ids=ids.to(device), attention_mask=att.to(device), do_sample=False,
                             max_new_tokens=max_new_tokens, pad_token_id=pad, eos_token_id=eos,
                             stop_strings=[THINK_CLOSE], tokenizer=tokenizer, temperature=None, top_p=None,
                             top_k=None)
        for r, i in enumerate(idx):
            text = tokenizer.decode(gen[r, width:], skip_special_tokens=True)
            cut = text.find(THINK_CLOSE)
            if cut >= 0:
                out[i] = (text[:cut + len(THINK_CLOSE)], False)
            else:
                out[i] = (text.rstrip() + THINK_CLOSE, True)
        if advance is not None:
            advance(len(idx))
    return out  # type: ignore[return-value]


def check_context(model, contexts: Sequence[Sequence[int]], cands, task: Task, extra: int = 0) -> None:
    """Refuse, before any scoring, a prompt that does not fit the model's context (prompt + the longest
    answer + ``extra`` generated tokens): scoring it would be wrong (positions past the context) or
    exhaust memory. The message names the input and its length in tokens."""
    limit = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if not isinstance(limit, int) or limit <= 0:
        return
    longest_answer = max((len(c) for c in cands), default=0)
    over = [(i, len(c)) for i, c in enumerate(contexts) if len(c) + longest_answer + extra > limit]
    if over:
        i, n = max(over, key=lambda x: x[1])
        raise InputError(f"input {i} ({task.input_field!r})", f"the prompt is {n:,} tokens but the model's context "
                         f"holds {limit:,} (with the answer{' and the trace' if extra else ''}); {len(over)} "
                         f"input(s) are too long: shorten them or drop those rows")


def score_label_logprobs(model, tokenizer, task: Task, texts: Sequence[str], *, fmt: str = "label",
                         mode: str = "label", batch_size: int = 16, max_new_tokens: int = 64,
                         progress: bool = True) -> tuple[np.ndarray, dict]:
    """Unnormalised ``[N, K]`` summed log-probs of each of ``task``'s K answers per input text, plus
    details (the cot traces and how many were force-closed)."""
    _check_mode(fmt, mode)
    texts = list(texts)
    if not texts:
        raise ValueError("no inputs to score")
    for i, h in enumerate(texts):
        if not isinstance(h, str) or not h.strip():
            raise ValueError(f"input {i} ({task.input_field!r}) is empty or not a string: {h!r}")
    cands = label_token_ids(tokenizer, task)
    contexts = [tokenizer.encode(render_prompt(tokenizer, task, h, fmt), add_special_tokens=False) for h in texts]
    check_context(model, contexts, cands, task, max_new_tokens if mode == "cot" else 0)
    details: dict = {"mode": mode, "fmt": fmt}
    if mode == "cot":
        with progress_bar(len(texts), "cot traces", progress) as adv:
            traces = generate_traces(model, tokenizer, contexts, batch_size=batch_size,
                                     max_new_tokens=max_new_tokens, advance=adv)
        contexts = [c + tokenizer.encode(t + "\n", add_special_tokens=False)
                    for c, (t, _) in zip(contexts, traces, strict=True)]
        details["traces"] = [t for t, _ in traces]
        details["forced_close"] = int(sum(f for _, f in traces))
    with progress_bar(len(texts), "scoring labels", progress) as adv:
        scores = score_trees(model, contexts, [cands] * len(contexts), batch_size=batch_size, on_batch=adv)
    return np.stack(scores), details


def normalise(logprobs: np.ndarray) -> np.ndarray:
    """Softmax over the classes (float64; rows sum to 1)."""
    z = logprobs - logprobs.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def score_labels(model, tokenizer, task: Task, texts: list[str], *, fmt: str = "label", mode: str = "label",
                 batch_size: int = 16, max_new_tokens: int = 64, progress: bool = True) -> np.ndarray:
    """``[N, K]`` probabilities over ``task.label_names`` (class-id order), each row summing to 1."""
    lp, _ = score_label_logprobs(model, tokenizer, task, texts, fmt=fmt, mode=mode, batch_size=batch_size,
                                 max_new_tokens=max_new_tokens, progress=progress)
    return normalise(lp)


def check_split(df: pd.DataFrame, task: Task, source: str = "split") -> pd.DataFrame:
    """Validate an evaluation split of ``task``: non-empty, has ``task.input_field`` and ``label``,
    every label known (spellings listed in the task's ``aliases`` are mapped to their label)."""
    if not isinstance(df, pd.DataFrame):
        raise SplitError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise SplitError(f"{source}: the split is empty (0 rows)")
    text = task.input_field
    missing = [c for c in (text, "label") if c not in df.columns]
    if missing:
        raise SplitError(f"{source}: missing column(s) {missing}; columns are {list(df.columns)} "
                         f"(task {task.name!r} reads its input from {text!r})")
    ids = df["id"].astype(str).tolist() if "id" in df.columns else [str(i) for i in range(len(df))]
    labels = []
    for row, (rid, label, head) in enumerate(zip(ids, df["label"], df[text], strict=True)):
        lab = task.canonical(label) if isinstance(label, str) else None
        if lab is None:
            raise SplitError(f"{source}: row {row} (id {rid}) field 'label': unknown label {label!r} "
                             f"(not one of the {task.n_classes} labels of task {task.name!r})")
        if not isinstance(head, str) or not head.strip():
            raise SplitError(f"{source}: row {row} (id {rid}) field {text!r}: empty or not a string")
        labels.append(lab)
    if labels != df["label"].tolist():
        df = df.assign(label=labels)
    return df


def read_split(path, task: Task) -> pd.DataFrame:
    """Read a split file of ``task`` (parquet, CSV or JSONL; a folder means its ``test.parquet``)
    through the data stage's loader, then validate it for evaluation."""
    from taskdistill.data.loader import load_split, split_file

    p = split_file(path, "test")
    return check_split(load_split(p, task), task, str(p))


def transfer_matrix(task: Task, model_task: Task) -> np.ndarray:
    """``[K_model, K_task]`` 0/1 matrix sending each label of ``model_task`` to the label of ``task``
    it maps to (its group); ``task`` must be derived from ``model_task`` (``derive:`` in its YAML)."""
    if task.derive is None:
        raise TransferError(f"task {task.name!r} is not derived from model task {model_task.name!r} (it has "
                            f"no 'derive:'); a model answers in its own task's labels, so evaluate it with "
                            f"--task {model_task.name} or a task derived from it")
    parent = load_task(task.derive.task)
    if parent.hash != model_task.hash:
        raise TransferError(f"task {task.name!r} is derived from {parent.name!r} (hash {parent.hash}), not "
                            f"from model task {model_task.name!r} (hash {model_task.hash})")
    m = np.zeros((model_task.n_classes, task.n_classes))
    for i, lab in enumerate(model_task.label_names):
        m[i, task.index(model_task.group(lab))] = 1.0
    return m


def evaluate_indomain(model, tokenizer, df: pd.DataFrame, task: Task, *, model_task: Task | None = None,
                      fmt: str = "label", mode: str = "label", limit: int | None = None, batch_size: int = 16,
                      seed: int = 0, max_new_tokens: int = 64, progress: bool = True,
                      source: str = "split") -> dict:
    """Metrics, a per-label table, the confusion matrix and the settings that produced them.

    ``task``: the task ``df`` is labelled for. ``model_task``: the task the model answers in, when
    it is another one (transfer evaluation, see the module docstring; ``task`` must be derived from
    it). ``limit`` evaluates a seeded random subset of ``limit`` rows (kept in file order), so a
    quick run is not biased by how the file happens to be sorted."""
    _check_mode(fmt, mode)
    df = check_split(df, task, source)
    scorer = model_task if model_task is not None else task
    transfer = scorer.hash != task.hash
    tmat = transfer_matrix(task, scorer) if transfer else None
    n_total = len(df)
    if limit is not None:
        if limit <= 0:
            raise InputError("--limit", f"must be a positive number of rows, got {limit}")
        if limit < len(df):
            df = df.sample(n=limit, random_state=seed).sort_index()
    labels = task.label_names
    y = np.array([task.index(lbl) for lbl in df["label"]], dtype=np.int64)
    t0 = time.perf_counter()
    lp, details = score_label_logprobs(model, tokenizer, scorer, df[task.input_field].tolist(), fmt=fmt,
                                       mode=mode, batch_size=batch_size, max_new_tokens=max_new_tokens,
                                       progress=progress)
    seconds = time.perf_counter() - t0
    probs = normalise(lp)
    if tmat is not None:
        probs = probs @ tmat
        probs = probs / probs.sum(1, keepdims=True)  # exact up to float rounding; keeps rows at 1
    pred = probs.argmax(1)
    prf = M.per_class_prf(y, pred, len(labels))
    ids = df["id"].astype(str).tolist() if "id" in df.columns else [str(i) for i in df.index]
    scoring = f"label-string log-likelihood, softmax over {scorer.n_classes} classes"
    if transfer:
        scoring += f" of task {scorer.name!r}, summed per label of {task.name!r}"
    result = {
        "task": task_ref(task),
        "n": int(len(y)),
        "n_split": int(n_total),
        "accuracy": M.accuracy(y, probs),
        "macro_f1": M.macro_f1(y, probs),
    }
    if task.has_groups:
        groups = np.array([task.group_names.index(task.group(lbl)) for lbl in labels])
        result["macro_f1_coarse"] = M.macro_f1(y, probs, groups=groups)
    result |= {
        "nll": M.nll(y, probs),
        "brier": M.brier(y, probs),
        "ece": M.ece(y, probs),
        "seconds": seconds,
        "headlines_per_s": len(y) / seconds if seconds > 0 else float("nan"),
        "settings": {"fmt": fmt, "mode": mode, "limit": limit, "seed": seed, "batch_size": batch_size,
                     "max_new_tokens": max_new_tokens if mode == "cot" else None, "fewshot": 0,
                     "scoring": scoring},
        "per_class": [
            {"label": lbl, **({"category": task.group(lbl)} if task.has_groups else {}),
             "precision": float(prf["precision"][k]), "recall": float(prf["recall"][k]),
             "f1": float(prf["f1"][k]), "support": int(prf["support"][k]),
             "predicted": int(prf["predicted"][k])}
            for k, lbl in enumerate(labels)
        ],
        "labels": list(labels),
        "confusion": M.confusion(y, probs).tolist(),
        "examples": {"id": ids, "gold": [labels[k] for k in y], "pred": [labels[k] for k in pred],
                     "p_gold": [float(probs[i, y[i]]) for i in range(len(y))]},
    }
    if transfer:
        result["transfer"] = {"model_task": task_ref(scorer), "task": task_ref(task),
                              "mapping": f"each {scorer.name} label -> its group = a {task.name} label; "
                                         "probabilities summed per group"}
    if mode == "cot":
        result["cot"] = {"forced_close": details["forced_close"],
                         "forced_close_rate": details["forced_close"] / len(y),
                         "mean_trace_chars": float(np.mean([len(t) for t in details["traces"]]))}
    return result
