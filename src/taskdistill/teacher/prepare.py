"""Teacher correction: fine-tune the base model on the task's train split until it is competent.

SmolLM2-135M-Instruct cannot classify headlines zero-shot (it answers "neutral"), so, as Minitron's
"teacher correction" does, we fine-tune it before it teaches anyone. It is trained on **both** prompt
formats, each train row once as ``label`` (``[[label]]``) and once as ``cot`` (gold rationale in
``<think>`` then ``[[label]]``), shuffled together by the trainer, because the teacher has two jobs:
being scored exactly and cheaply over the task's labels (label mode) and writing ``<think>`` traces
for CoT supervision (cot mode).

The result is a standard Hugging Face checkpoint, content-addressed under
``stage_dir("teacher")/<base>-<key>`` where the key hashes the base weights, the dataset files, the
task and the ``TeacherConfig``; ``teacher_report.json`` beside the weights records the task, the
in-domain metrics of the base ("before") and of the prepared teacher ("after") on the same fixed
subsets, plus every setting, and ``task.yaml`` holds the task definition (so later stages default to
it and refuse another). Training goes through ``taskdistill.distill.trainer.train`` (supervision ``sft``), which
checkpoints and resumes, so a killed run continues where it stopped.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from pathlib import Path

from taskdistill.cache import atomic_dir, atomic_write_json, content_hash, output_lock, stage_dir, work_dir
from taskdistill.targets.record import TaskMismatchError, check_task, recorded_task, task_ref, write_task
from taskdistill.task import DEFAULT_TASK, Task, load_task
from taskdistill.teacher.config import TeacherConfig
from taskdistill.teacher.identity import (
    TeacherInputError,
    dataset_hash,
    model_hash,
    read_json,
    read_split,
)

REPORT = "teacher_report.json"
KEY_VERSION = "teacher-v1"  # bump when the training recipe changes meaning


def _name(base: str) -> str:
    stem = Path(base).name if ("/" in base or Path(base).exists()) else base
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "model"


def teacher_key(base_hash: str, data_hash: str, task_hash: str, cfg: TeacherConfig) -> str:
    """Cache key of a prepared teacher: base weights + dataset files + task + every training setting
    (``cfg.key_view()``: the same value as before the settings were split into ``train`` + the rest)."""
    return content_hash(KEY_VERSION, base_hash, data_hash, task_hash, cfg.key_view())


def mixed_examples(tokenizer, task: Task, train_df, cfg: TeacherConfig):
    """Train examples in both formats, drawn with ``cfg.train.seed``:

    - ``cot_fraction == 0.5`` (default): every row once in each format (2 x rows examples);
    - otherwise ``round(2n * cot_fraction)`` rows in cot and ``round(2n * (1 - cot_fraction))`` rows in
      label, each capped at the n rows (so 0.0 = label only, 1.0 = cot only).

    Rows without a rationale cannot be cot examples and are used in label format only."""
    import numpy as np

    from taskdistill.targets.examples import build_examples

    n = len(train_df)
    rng = np.random.default_rng(cfg.train.seed)
    has_rat = train_df["rationale"].fillna("").astype(str).str.strip().str.len() > 0
    n_cot = min(n, round(n * 2 * cfg.cot_fraction))
    n_lab = min(n, round(n * 2 * (1 - cfg.cot_fraction)))
    cot_pool = np.flatnonzero(has_rat.to_numpy())
    cot_rows = np.sort(rng.permutation(cot_pool)[:n_cot])
    lab_rows = np.sort(rng.permutation(n)[:n_lab])
    max_length = cfg.train.max_length
    lab = build_examples(tokenizer, task, train_df.iloc[lab_rows].reset_index(drop=True), fmt="label",
                         max_length=max_length) if len(lab_rows) else []
    cot = build_examples(tokenizer, task, train_df.iloc[cot_rows].reset_index(drop=True), fmt="cot",
                         max_length=max_length) if len(cot_rows) else []
    # Interleave so any prefix of the list holds both formats (the trainer shuffles anyway).
    out = []
    for i in range(max(len(lab), len(cot))):
        if i < len(lab):
            out.append(lab[i])
        if i < len(cot):
            out.append(cot[i])
    return out, {"label": len(lab), "cot": len(cot)}


def _evaluate(model, tok, dataset_dir: Path, task: Task, cfg: TeacherConfig, *, cot: bool = False,
              progress: bool = True, limit: int | None = None) -> dict:
    """Label-mode metrics on each eval split, and optionally cot-mode metrics. With ``eval_limit`` the
    evaluator scores a seeded random subset (seed 0), the same rows before and after training."""
    from taskdistill.evaluate.indomain import evaluate_indomain

    out = {}
    for split in cfg.eval_splits:
        df = read_split(dataset_dir, split, task)
        out[f"{split}/label"] = evaluate_indomain(model, tok, df, task, fmt="label", mode="label",
                                                  limit=limit, batch_size=cfg.eval_batch_size,
                                                  progress=progress, source=f"{split}.parquet")
        if cot and cfg.cot_eval_limit:
            out[f"{split}/cot"] = evaluate_indomain(model, tok, df, task, fmt="cot", mode="cot",
                                                    limit=cfg.cot_eval_limit, batch_size=cfg.eval_batch_size,
                                                    progress=progress, source=f"{split}.parquet")
    return out


def _headline(metrics: dict) -> dict:
    """The few numbers worth printing from an evaluate_indomain dict."""
    keys = ("macro_f1", "accuracy", "macro_f1_coarse", "nll", "brier", "ece", "n", "seconds")
    return {k: metrics[k] for k in keys if k in metrics}


def load_report(teacher_dir: str | Path) -> dict:
    """The ``teacher_report.json`` of a prepared teacher folder."""
    path = Path(teacher_dir) / REPORT
    if not path.is_file():
        raise TeacherInputError(f"{teacher_dir}: no {REPORT}; not a folder written by `teacher prepare`")
    return read_json(path)


def _task_for(task: Task | str | Path | None, dataset_dir: Path | None) -> Task:
    """``task`` when given, else the task the dataset folder records (``task.yaml``), else the default
    task; checked against the dataset's record."""
    rec = recorded_task(dataset_dir)
    chosen = load_task(task) if task is not None else (rec or load_task(DEFAULT_TASK))
    try:
        check_task(chosen, rec, f"dataset {dataset_dir}")
    except TaskMismatchError as exc:
        raise TeacherInputError(str(exc)) from None
    return chosen


def _inputs(base: str, dataset_dir: str | Path | None, task: Task | str | Path | None,
            quiet: bool) -> tuple[Task, Path, Path]:
    """Pass 1: the task, the dataset folder (the task's default dataset when None) and the base
    model's folder (downloaded / converted when needed)."""
    from taskdistill.models import resolve_model_dir

    if dataset_dir is None:
        from taskdistill.data.default import default_dataset

        task = load_task(task if task is not None else DEFAULT_TASK)
        dataset_dir = default_dataset(task, quiet=quiet)
    dataset_dir = Path(dataset_dir).resolve()
    task = _task_for(task, dataset_dir)
    return task, dataset_dir, resolve_model_dir(base, quiet=quiet)


def _already_prepared(final: Path, key: str, console) -> bool:
    """True if ``final`` already holds this teacher; a folder holding anything else is an error."""
    if (final / REPORT).is_file():
        rep = read_json(final / REPORT)
        if rep.get("key") != key:
            raise TeacherInputError(f"{final} already holds a teacher prepared with other inputs or "
                                    f"settings (key {rep.get('key')} != {key}); choose another --out")
        console.print(f"teacher already prepared: {final}")
        return True
    if final.exists() and any(final.iterdir()):
        raise TeacherInputError(f"{final} exists and is not a prepared teacher; choose another --out")
    return False


def _score_before(model, tok, dataset_dir: Path, task: Task, cfg: TeacherConfig, base: str,
                  hashes: tuple[str, str], console, quiet: bool, timings: dict) -> dict:
    """Pass 2: in-domain metrics of the base model. They depend only on the base, the data and the eval
    settings, not on the training recipe, so they are cached on their own: retuning steps or lr never
    re-scores the base."""
    limits = [x for x in (cfg.eval_limit, cfg.before_limit) if x]
    before_limit = min(limits) if limits else None
    before_key = content_hash("teacher-before-v1", *hashes, task.hash, cfg.eval_splits, before_limit,
                              cfg.eval_batch_size)
    before_path = stage_dir("teacher") / f".before-{before_key}.json"
    if before_path.is_file():
        return read_json(before_path)
    console.print(f"scoring the base model {base} before training ...")
    t0 = time.perf_counter()
    before = _evaluate(model, tok, dataset_dir, task, cfg, progress=not quiet, limit=before_limit)
    timings["eval_before_s"] = round(time.perf_counter() - t0, 1)
    atomic_write_json(before_path, before)
    return before


def _train(model, tok, dataset_dir: Path, task: Task, cfg: TeacherConfig, work: Path, console, quiet: bool,
           timings: dict, device: str | None = "auto") -> tuple[Path, dict]:
    """Pass 3: fine-tune on the train split in both formats (``cfg.train``, supervision sft), with a
    held-out cross-entropy on a few validation rows; return (final checkpoint, examples per format)."""
    from taskdistill.distill.trainer import train
    from taskdistill.targets.examples import build_examples

    tc = cfg.train
    train_df = read_split(dataset_dir, "train", task)
    examples, counts = mixed_examples(tok, task, train_df, cfg)
    console.print(f"training on {len(train_df)} train rows -> {counts['label']} label + {counts['cot']} cot "
                  f"examples; {tc.steps} steps x batch {tc.batch_size * tc.grad_accum} ({tc.method}, lr {tc.lr})")
    val = read_split(dataset_dir, "validation", task).iloc[:cfg.heldout_examples]
    eval_examples = build_examples(tok, task, val, fmt="label", max_length=tc.max_length) if len(val) else None
    t0 = time.perf_counter()
    ckpt = Path(train(model, tok, examples, tc, work / "train", quiet=quiet, eval_examples=eval_examples,
                      task=task, device=device))
    timings["train_s"] = round(time.perf_counter() - t0, 1)
    return ckpt, counts


def _score_after(model, tok, dataset_dir: Path, task: Task, cfg: TeacherConfig, work: Path, console,
                 quiet: bool, timings: dict) -> dict:
    """Pass 4: metrics of the prepared teacher (label mode, plus a few cot-mode rows), checkpointed in
    the work folder so a run killed after scoring does not score again."""
    after_path = work / "after.json"
    if after_path.is_file():
        return read_json(after_path)
    console.print("scoring the prepared teacher ...")
    t0 = time.perf_counter()
    after = _evaluate(model, tok, dataset_dir, task, cfg, cot=True, progress=not quiet, limit=cfg.eval_limit)
    timings["eval_after_s"] = round(time.perf_counter() - t0, 1)
    atomic_write_json(after_path, after)
    return after


def _write(final: Path, model, tok, report: dict, log: Path, task: Task) -> None:
    """Pass 5: weights, tokenizer, training log, report and ``task.yaml``, renamed into place at once."""
    with atomic_dir(final) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if log.is_file():
            shutil.copy2(log, tmp / "train_log.jsonl")
        atomic_write_json(tmp / REPORT, report)
        write_task(tmp, task)


def prepare_teacher(base: str = "smollm2-135m-instruct", dataset_dir: str | Path | None = None,
                    cfg: TeacherConfig | None = None, quiet: bool = False,
                    out: str | Path | None = None, *, task: Task | str | Path | None = None,
                    device: str | None = "auto") -> Path:
    """Fine-tune ``base`` on ``dataset_dir``'s train split for ``task`` and return the prepared
    checkpoint folder (cached: a second call with the same inputs returns at once). ``out`` puts the
    finished checkpoint there instead of the cache.

    ``task``: a Task, a built-in name or a task YAML; None = the task ``dataset_dir`` records, else
    finheadlines. ``dataset_dir`` None = the task's default dataset (finheadlines: the embedded
    finheadlinemix-mini; a derived task: its parent's data relabelled). ``device``: where the base is scored
    and trained and the result scored (``models.resolve_device``); not part of the cache key."""
    import torch
    from rich.console import Console

    from taskdistill.info import runtime, versions
    from taskdistill.models import load_model
    from taskdistill.models.arch import count_params

    cfg = cfg or TeacherConfig()
    console = Console(stderr=True, quiet=quiet)
    task, dataset_dir, base_dir = _inputs(base, dataset_dir, task, quiet)
    b_hash, d_hash = model_hash(base_dir), dataset_hash(dataset_dir)
    key = teacher_key(b_hash, d_hash, task.hash, cfg)
    final = Path(out).resolve() if out else stage_dir("teacher") / f"{_name(str(base))}-{key}"
    if _already_prepared(final, key, console):
        return final
    model, tok = load_model(base_dir, quiet=quiet, device=device)  # a broken base fails here, before anything
    # One writer per --out folder (the cache folder is content-addressed: concurrent identical runs
    # each finish and the first rename wins, as before). Checked again once we hold the lock.
    with output_lock(final) if out else contextlib.nullcontext():
        if _already_prepared(final, key, console):
            return final
        work = work_dir(stage_dir("teacher") / key)  # resumable across attempts: train checkpoints, after.json
        timings: dict[str, float] = {}
        before = _score_before(model, tok, dataset_dir, task, cfg, base, (b_hash, d_hash), console, quiet,
                               timings)
        ckpt, counts = _train(model, tok, dataset_dir, task, cfg, work, console, quiet, timings, device)
        del model
        model, tok = load_model(ckpt, quiet=quiet, device=device)
        after = _score_after(model, tok, dataset_dir, task, cfg, work, console, quiet, timings)
        log = work / "train" / "train_log.jsonl"
        report = {
            "key": key,
            "key_version": KEY_VERSION,
            "base": str(base),
            "base_dir": str(base_dir),
            "base_hash": b_hash,
            "dataset_dir": str(dataset_dir),
            "dataset_hash": d_hash,
            "task": task_ref(task),
            "config": cfg.model_dump(mode="json"),
            "examples": counts,
            "params": count_params(model),
            "before": before,
            "after": after,
            "summary": {split: {"before": _headline(before.get(split, {})), "after": _headline(after[split])}
                        for split in after},
            "timings": timings,
            "train_log_tail": log.read_text().splitlines()[-3:] if log.is_file() else [],
            "versions": versions(),
            "runtime": runtime(),
            "torch_threads": torch.get_num_threads(),
        }
        _write(final, model, tok, report, log, task)
        shutil.rmtree(work, ignore_errors=True)
        console.print(f"prepared teacher -> {final}")
        return final
