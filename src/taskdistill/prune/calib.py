"""Calibration text for activation importance.

Activations should look like the ones the student will see in training, so in-domain calibration
text is the *rendered training prompt plus its answer* (``render_prompt`` + ``target_text`` of the
task), exactly the token stream distillation uses. Optionally a fraction of general text (MMLU
questions with their options) is mixed in, to keep units that general knowledge relies on from
looking idle.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from taskdistill.errors import InputError
from taskdistill.task import Task, load_task
from taskdistill.task.prompts import render_prompt, target_text


def _read_rows(parquet: str | Path, task: Task, n: int | None, seed: int) -> list[dict]:
    """The rows of a calibration file (a dataset folder: its train split). Only the input text is needed,
    so the file is read as is (``label`` optional) and checked for what calibration uses."""
    from taskdistill.data.loader import read_table, split_file

    path = split_file(parquet, "train")
    df, _ = read_table(path)
    col = task.input_field
    if col not in df.columns:
        raise InputError(path, f"calibration parquet needs a {col!r} column, the input field of task "
                               f"{task.name!r} (has {list(df.columns)})")
    if len(df) == 0:
        raise InputError(path, "calibration parquet has no rows; pass a split with some texts")
    rows = df.to_dict("records")
    for i, r in enumerate(rows):
        if not isinstance(r[col], str) or not r[col].strip():
            raise InputError(path, f"row {i} field {col!r} is empty or not text")
        if "label" in r and r["label"] is not None and r["label"] not in task.label_names:
            raise InputError(path, f"row {i} field 'label' = {r['label']!r} is not one of the "
                                   f"{task.n_classes} labels of task {task.name!r}")
    rng = random.Random(seed)
    rng.shuffle(rows)
    return rows[:n] if n else rows


def indomain_texts(tokenizer, task: Task, parquet: str | Path, n: int | None = 256, seed: int = 0) -> list[str]:
    """Rendered label-format prompts (+ gold answer when the file has a ``label`` column)."""
    out = []
    for r in _read_rows(parquet, task, n, seed):
        text = render_prompt(tokenizer, task, r[task.input_field], "label")
        if r.get("label"):
            text += target_text(task, r["label"], "label")
        out.append(text)
    return out


def general_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` MMLU questions with their four options (test split carried offline)."""
    from taskdistill.assets import mmlu_jsonl

    items = []
    with open(mmlu_jsonl(), encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("correct_answer") not in ("A", "B", "C", "D"):
                continue
            items.append(row)
    rng = random.Random(seed)
    pick = rng.sample(items, min(n, len(items)))
    return [f"{r['question']}\nA. {r['answer_a']}\nB. {r['answer_b']}\nC. {r['answer_c']}\nD. {r['answer_d']}\n"
            f"Answer: {r['correct_answer']}" for r in pick]


def calibration_texts(tokenizer, task: Task | str, parquet: str | Path | None = None, *, n: int = 256,
                      general_fraction: float = 0.0, seed: int = 0) -> list[str]:
    """``n`` calibration texts: ``(1 - general_fraction)`` in-domain from ``parquet`` (default: the
    task's default dataset's train split), the rest general (MMLU). Deterministic for a given seed."""
    task = load_task(task)
    if not 0.0 <= general_fraction <= 1.0:
        raise ValueError(f"general_fraction must be in [0, 1], got {general_fraction}")
    n_general = round(n * general_fraction)
    n_domain = n - n_general
    texts: list[str] = []
    if n_domain:
        if parquet is None:
            parquet = _default_train(task)
        texts += indomain_texts(tokenizer, task, parquet, n_domain, seed)
    if n_general:
        texts += general_texts(n_general, seed)
    random.Random(seed).shuffle(texts)
    return texts


def _default_train(task: Task) -> Path:
    """The train split of the task's default dataset (built-in tasks only; a user task passes a file)."""
    from taskdistill.data import default as data_default

    ensure = getattr(data_default, "ensure_task_dataset", None)
    if ensure is not None:
        return Path(ensure(task)) / "train.parquet"
    if task.name != "finheadlines":
        raise InputError("--calib", f"task {task.name!r} has no default dataset here: pass a calibration file")
    return Path(data_default.ensure_dataset()) / "train.parquet"
