"""One evaluation = one JSON record holding the numbers and everything that can change them.

A number without its settings cannot be compared, so the record carries: the task (name and hash;
and the model's own task when it differs: a transfer evaluation), the model (spec, folder, weight
hash, architecture, parameters), the split (path, file hash, rows), the prompt format and
scoring mode, few-shot count (0), limit and seed, dtype, device, threads, batch size, the MMLU
variant and sample, package versions (``taskdistill.info.versions()`` + lm-eval if installed) and
the git commit. The sweep stores records as rows: ``flatten_record`` turns one into a flat
``{"indomain.macro_f1": ..., "mmlu.acc": ..., "settings.seed": ...}`` dict of scalars (tables such
as the per-class F1 or the confusion matrix stay in the JSON only).

Schema (``schema = "taskdistill.eval/1"``): top-level keys ``task``, ``model_task``, ``model``,
``split``, ``settings``, ``indomain`` (or null), ``mmlu`` (or null), ``efficiency`` (or null),
``versions``, ``git``, ``created``, ``seconds``.

Which task: ``task`` (the labels of the split) defaults to the task the model folder records
(``task.yaml``, written by ``teacher prepare`` and ``distill``), else finheadlines; ``model_task``
(the labels the model answers in) defaults to the model's recorded task, else ``task``. A model
recorded for one task and asked to answer in another is an error.
"""

from __future__ import annotations

import datetime as _dt
import subprocess
import time
from importlib import metadata
from pathlib import Path

import torch

from taskdistill.cache import file_hash
from taskdistill.errors import InputError
from taskdistill.targets.record import check_task, recorded_task, task_ref
from taskdistill.task import DEFAULT_TASK, Task, load_task

SCHEMA = "taskdistill.eval/1"


def model_fingerprint(model) -> str:
    """The model's identity (``taskdistill.models.identity.model_hash``): its checkpoint folder's files
    when it was loaded from one (``model.taskdistill_source``), else its in-memory state. Reports written
    next to the weights (``teacher_report.json``, ``prune_report.json``, logs: they hold timings) do not
    count, so identical runs get one hash, the same one the teacher and prune stages record."""
    from taskdistill.models.identity import model_hash

    src = getattr(model, "taskdistill_source", None)
    return model_hash(src if src and Path(src).is_dir() else model)


def git_info() -> dict:
    """Commit of the working tree and whether it had uncommitted changes (read-only git calls)."""
    root = Path(__file__).resolve().parents[3]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=10).stdout
        return {"commit": commit, "dirty": bool(status.strip()) if commit else None}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _versions() -> dict:
    from taskdistill.info import versions

    out = versions()
    try:
        out["lm-eval"] = metadata.version("lm-eval")
    except metadata.PackageNotFoundError:
        pass
    return out


def resolve_tasks(model_dir, task: Task | str | Path | None = None,
                  model_task: Task | str | Path | None = None) -> tuple[Task, Task]:
    """``(task, model_task)`` for evaluating the model in ``model_dir`` (see the module docstring)."""
    rec = recorded_task(model_dir) if model_dir is not None and Path(model_dir).is_dir() else None
    mt = load_task(model_task) if model_task is not None else rec
    if mt is not None:
        check_task(mt, rec, f"model {model_dir}")
    t = load_task(task) if task is not None else (mt or load_task(DEFAULT_TASK))
    return t, (mt or t)


def evaluate_model(model_or_spec, split_path=None, *, task: Task | str | Path | None = None,
                   model_task: Task | str | Path | None = None, mmlu_n: int | str = 1000, scoring: str = "cloze",
                   mode: str = "label", fmt: str | None = None, limit: int | None = None, seed: int = 0,
                   batch_size: int = 16, max_new_tokens: int = 64, mmlu_path=None, efficiency: bool = True,
                   efficiency_n: int = 32, progress: bool = True, resume: bool = True, tokenizer=None,
                   device: str | None = "auto") -> dict:
    """Evaluate one model end to end and return its record (see module docstring).

    ``model_or_spec``: a spec for ``load_model`` (registry name, folder, ``tiny:<arch>``) or a model
    object (then pass ``tokenizer``). ``split_path``: a split parquet or dataset folder (its
    ``test.parquet``; CSV and JSONL files load too); None skips in-domain. ``task`` / ``model_task``:
    see the module docstring (a derived ``task`` with another ``model_task`` is a transfer
    evaluation). ``mmlu_n``: questions (int), ``"all"``, or 0 to skip. ``fmt`` defaults to ``mode``
    (a cot student is prompted in the cot format). ``device``: where a model loaded from ``model_or_spec``
    runs (``models.resolve_device``: ``auto`` is the GPU when there is one); a model object stays where it is.
    The record names the device."""
    from taskdistill.evaluate.general import evaluate_mmlu, load_items, resume_path, stratified_sample
    from taskdistill.evaluate.indomain import evaluate_indomain, read_split

    fmt = fmt or mode
    t0 = time.perf_counter()
    if isinstance(model_or_spec, (str, Path)):
        from taskdistill.models import load_model

        model, tok = load_model(model_or_spec, quiet=not progress, device=device)
        spec = str(model_or_spec)
    else:
        model, tok = model_or_spec, tokenizer
        if tok is None:
            raise ValueError("evaluate_model: pass tokenizer= when giving a model object")
        spec = getattr(model, "taskdistill_source", None) or type(model).__name__
    from taskdistill.models.arch import count_params

    task, model_task = resolve_tasks(getattr(model, "taskdistill_source", None), task, model_task)
    if model_task.hash != task.hash:
        from taskdistill.evaluate.indomain import transfer_matrix

        transfer_matrix(task, model_task)  # fail before any scoring when the tasks do not fit

    mhash = model_fingerprint(model)
    record: dict = {
        "schema": SCHEMA,
        "task": task_ref(task),
        "model_task": task_ref(model_task),
        "model": {"spec": spec, "path": getattr(model, "taskdistill_source", None), "hash": mhash,
                  "arch": getattr(model.config, "model_type", None), "params": count_params(model),
                  "params_non_embedding": count_params(model, non_embedding=True),
                  "layers": getattr(model.config, "num_hidden_layers", None),
                  "hidden": getattr(model.config, "hidden_size", None),
                  "intermediate": getattr(model.config, "intermediate_size", None)},
        "split": None,
        "settings": {"fmt": fmt, "mode": mode, "fewshot": 0, "limit": limit, "seed": seed,
                     "batch_size": batch_size, "max_new_tokens": max_new_tokens if mode == "cot" else None,
                     "mmlu_n": mmlu_n, "mmlu_scoring": scoring if mmlu_n not in (0, "0") else None,
                     "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
                     "device": str(next(model.parameters()).device), "threads": torch.get_num_threads()},
        "indomain": None,
        "mmlu": None,
        "efficiency": None,
    }
    df = None
    if split_path is not None:
        from taskdistill.data.loader import split_file

        df = read_split(split_path, task)
        p = split_file(split_path, "test")
        record["split"] = {"path": str(p.resolve()), "hash": file_hash(p), "rows": len(df)}
        record["indomain"] = evaluate_indomain(model, tok, df, task, model_task=model_task, fmt=fmt, mode=mode,
                                               limit=limit,
                                               batch_size=batch_size, seed=seed, max_new_tokens=max_new_tokens,
                                               progress=progress, source=str(p))
    if mmlu_n not in (0, "0"):
        items, _ = load_items(mmlu_path)
        chosen = stratified_sample(items, mmlu_n, seed)
        rf = resume_path(mhash, scoring, chosen) if resume else None
        record["mmlu"] = evaluate_mmlu(model, tok, n=mmlu_n, scoring=scoring, seed=seed, batch_size=batch_size,
                                       path=mmlu_path, progress=progress, resume_file=rf)
        if rf is not None and rf.exists():
            rf.unlink()  # the finished record now holds the scores
    if efficiency:
        from taskdistill.evaluate.efficiency import measure_efficiency

        texts = df[task.input_field].tolist()[:efficiency_n] if df is not None else _default_texts(efficiency_n)
        record["efficiency"] = measure_efficiency(model, tok, model_task, texts=texts, batch_size=batch_size,
                                                  fmt=fmt)
        record["efficiency"]["headlines_source"] = "split" if df is not None else "built-in"
    record["versions"] = _versions()
    from taskdistill.info import runtime

    record["runtime"] = runtime()  # threads, CPU kernels, BLAS: docs/reproducibility.md
    record["git"] = git_info()
    record["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    record["seconds"] = time.perf_counter() - t0
    return record


_TEXTS = (
    "Acme Corp raises full-year revenue guidance after strong third quarter",
    "Globex shares fall 8% as CEO departs unexpectedly",
    "Moody's downgrades Initech to Ba2 on rising leverage",
    "Umbrella Pharma wins FDA approval for migraine drug",
    "Stark Industries to acquire Wayne Tech in $4.2bn deal",
    "Hooli declares quarterly dividend of 25 cents per share",
    "Analyst upgrades Vandelay Industries to buy, price target $45",
    "Workers at Cyberdyne plant vote to strike over pay",
)


def _default_texts(n: int) -> list[str]:
    """Fixed short texts for timing when no split is given (content does not change the cost much;
    a fixed list keeps the timing comparable across models)."""
    return [_TEXTS[i % len(_TEXTS)] for i in range(n)]


def save_record(record: dict, path: str | Path) -> Path:
    """Write a record as JSON atomically, numbers as JSON numbers (``cache.atomic_write_json``
    would turn floats into strings for hashing)."""
    import json

    from taskdistill.cache import atomic_write_text

    return atomic_write_text(path, json.dumps(record, indent=1, allow_nan=True) + "\n")


def load_record(path: str | Path) -> dict:
    import json

    try:
        rec = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot read an evaluation record ({exc})") from None
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
        schema = rec.get("schema") if isinstance(rec, dict) else None
        raise InputError(path, f"not a taskdistill evaluation record (schema {schema!r})")
    return rec


def flatten_record(record: dict) -> dict:
    """Flat ``{"a.b": scalar}`` view for the results store: nested dicts joined with dots; lists
    (per-class tables, confusion, per-example scores) are left out; per-subject/supercategory
    accuracies are kept (``mmlu.per_supercategory.stem.acc``)."""
    out: dict = {}

    def walk(prefix: str, obj) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if prefix == "mmlu" and k == "items":
                    continue
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(obj, (list, tuple)):
            return
        elif obj is None or isinstance(obj, (str, int, float, bool)):
            out[prefix] = obj
        else:
            out[prefix] = str(obj)

    walk("", record)
    return out
