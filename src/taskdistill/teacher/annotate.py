"""Annotate a dataset with a teacher, once, so that no student training ever runs the teacher again.

For one teacher x dataset (train split) this writes, content-addressed under
``stage_dir("annotations")/<key>``:

- ``labels.parquet``: the teacher's label (argmax of its scores over the task's labels in label
  mode), its confidence, the probability it gives the gold label, and the full probability vector;
- ``traces.parquet``: one greedy ``<think>`` trace per row (local teacher or an OpenAI-compatible
  endpoint), parsed and checked against the gold label, with the keep/drop/relabel decision of the
  policy (see ``taskdistill.teacher.traces``);
- ``frame_<fmt>.parquet``: the exact rows (id, input text, supervised label, rationale/trace) that the
  ``<fmt>`` examples are built from, so every consumer rebuilds the same examples in the same order;
- ``topk_<fmt>/``: the teacher's top-k log-probs + tail mass at every supervised position of those
  examples (``taskdistill.targets.cache.write_topk_cache``), one cache per format;
- ``task.yaml`` and ``meta.json``: the task annotated for; hashes of teacher, data and task, every
  setting, counts and timings.

The task is part of the key: the same teacher and data annotated for two tasks give two folders.
The read side (``load_annotations``, ``Annotations.training_set``) is ``taskdistill.targets.annotations``.

The work happens in ``.work-<key>`` and is checkpointed piece by piece (label scores and traces in
chunks, top-k caches shard by shard), so a killed run resumes; the folder is renamed into place only
when complete, so "folder exists" means "finished".
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from taskdistill.cache import (
    atomic_write_bytes,
    atomic_write_json,
    content_hash,
    publish_dir,
    stage_dir,
    work_dir,
)
from taskdistill.progress import make_progress
from taskdistill.targets.annotations import AnnotationError
from taskdistill.targets.record import TaskMismatchError, check_task, recorded_task, task_ref, write_task
from taskdistill.task import DEFAULT_TASK, FORMATS, Task, load_task
from taskdistill.teacher.config import BACKENDS, POLICIES, GenerationConfig
from taskdistill.teacher.identity import dataset_hash, model_hash, read_json, read_split

KEY_VERSION = "annotations-v1"
LABEL_CHUNK = 128  # rows per checkpointed label-scoring chunk
TRACE_CHUNK = 32  # rows per checkpointed generation chunk

def frame_columns(task: Task) -> tuple[str, ...]:
    return ("id", task.input_field, "label", "category", "rationale")


def annotations_key(teacher_hash: str | None, data_hash: str, task_hash: str, settings: dict) -> str:
    return content_hash(KEY_VERSION, teacher_hash, data_hash, task_hash, settings)


def _write_parquet(path: Path, df) -> None:
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def _chunked(work: Path, name: str, n: int, chunk: int, compute, progress, bar) -> list[Path]:
    """Run ``compute(start, stop) -> DataFrame`` per chunk, skipping chunks already on disk."""
    part_dir = work / name
    part_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        part = part_dir / f"part-{start:07d}-{stop:07d}.parquet"
        if not part.is_file():
            _write_parquet(part, compute(start, stop))
        progress.update(bar, completed=stop)
        parts.append(part)
    return parts


def _subset(df, n: int | None, seed: int):
    """A seeded random subset of ``n`` rows in file order (all rows when ``n`` is None or larger)."""
    if n is None or n >= len(df):
        return df.reset_index(drop=True)
    return df.sample(n=n, random_state=seed).sort_index().reset_index(drop=True)


def _concat(parts: list[Path]):
    import pandas as pd

    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def _check_teacher_data(teacher_dir: Path, dataset_dir: Path, d_hash: str, allow_other_data: bool) -> None:
    """A teacher prepared by `teacher prepare` records the dataset it was trained on; annotating a
    different dataset with it is usually a mistake (e.g. a stale --data path), so it is an error
    unless asked for explicitly."""
    rep_path = teacher_dir / "teacher_report.json"
    if not rep_path.is_file() or allow_other_data:
        return
    rep = read_json(rep_path)
    trained_on = rep.get("dataset_hash")
    if trained_on and trained_on != d_hash:
        raise AnnotationError(
            f"teacher {teacher_dir} was prepared on dataset {rep.get('dataset_dir')} (hash {trained_on}) but "
            f"annotations were requested for {dataset_dir} (hash {d_hash}); pass --allow-other-data if "
            "that is intended")


def _task_for(task: Task | str | Path | None, t_dir: Path | None, dataset_dir: Path) -> Task:
    """The task to annotate for: ``task`` when given, else the one the teacher records, else the one
    the dataset folder records, else the default task; checked against both records."""
    t_rec, d_rec = recorded_task(t_dir), recorded_task(dataset_dir)
    if t_rec is None and t_dir is not None and (t_dir / "teacher_report.json").is_file():
        t_rec = read_json(t_dir / "teacher_report.json").get("task")
    if task is not None:
        chosen = load_task(task)
    elif isinstance(t_rec, Task):
        chosen = t_rec
    else:
        chosen = d_rec if d_rec is not None else load_task(DEFAULT_TASK)
    try:
        check_task(chosen, t_rec, f"teacher {t_dir}")
        check_task(chosen, d_rec, f"dataset {dataset_dir}")
    except TaskMismatchError as exc:
        raise AnnotationError(str(exc)) from None
    return chosen


def _check_settings(formats: tuple[str, ...], backend: str, policy: str, k: int, limit: int | None,
                    cot_limit: int | None, gen: GenerationConfig | None, teacher_dir) -> tuple[tuple[str, ...],
                                                                                        GenerationConfig]:
    """Pass 1: refuse unusable settings before anything is loaded; return (formats, generation config)."""
    formats = tuple(dict.fromkeys(formats))
    if not formats or any(f not in FORMATS for f in formats):
        raise AnnotationError(f"formats {list(formats)}: choose from {FORMATS}")
    if backend not in BACKENDS:
        raise AnnotationError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if policy not in POLICIES:
        raise AnnotationError(f"unknown trace policy {policy!r}; choose one of {POLICIES}")
    if k < 1:
        raise AnnotationError(f"k must be >= 1, got {k}")
    for name, v in (("limit", limit), ("cot_limit", cot_limit)):
        if v is not None and v < 1:
            raise AnnotationError(f"{name} must be >= 1, got {v}")
    gen = gen or GenerationConfig()
    if backend == "openai" and (not gen.base_url or not gen.model):
        raise AnnotationError("the openai backend needs a base URL and a model name (--openai-base-url, "
                              "--openai-model)")
    if teacher_dir is None and backend == "local":
        raise AnnotationError("the local backend needs a teacher (--teacher <checkpoint folder>)")
    return formats, gen


def _rows(dataset_dir: Path, split: str, task: Task, limit: int | None, seed: int):
    """Pass 2: the rows to annotate (a seeded subset with ``limit``), ids as text, rationales filled."""
    df = _subset(read_split(dataset_dir, split, task), limit, seed)
    if df.empty:
        raise AnnotationError(f"{dataset_dir}/{split}.parquet has no rows to annotate")
    return df.assign(id=df["id"].astype(str), rationale=df["rationale"].fillna("").astype(str))


def _label_pass(model, tok, task: Task, df, work: Path, batch_size: int, progress, timings: dict) -> float:
    """Pass 3: the teacher's probabilities over the task's labels (label mode, exact) for every row, in
    checkpointed chunks, into ``labels.parquet``; returns the teacher's accuracy against gold."""
    import numpy as np
    import pandas as pd

    from taskdistill.evaluate.indomain import score_labels

    labels_ = task.label_names
    texts = df[task.input_field].tolist()

    def label_chunk(a: int, b: int):
        probs = np.asarray(score_labels(model, tok, task, texts[a:b], fmt="label", mode="label",
                                        batch_size=batch_size, progress=False), dtype=np.float32)
        gold = [task.index(lbl) for lbl in df["label"].iloc[a:b]]
        top = probs.argmax(1)
        return pd.DataFrame({
            "id": df["id"].iloc[a:b].tolist(),
            "gold": df["label"].iloc[a:b].tolist(),
            "teacher_label": [labels_[i] for i in top],
            "confidence": probs.max(1),
            "gold_prob": probs[np.arange(b - a), gold],
            "correct": top == np.asarray(gold),
            "probs": list(probs),
        })

    t0 = time.perf_counter()
    bar = progress.add_task("teacher labels", total=len(df))
    labels = _concat(_chunked(work, "labels_parts", len(df), LABEL_CHUNK, label_chunk, progress, bar))
    _write_parquet(work / "labels.parquet", labels)
    timings["labels_s"] = round(time.perf_counter() - t0, 1)
    return float(labels["correct"].mean())


def _trace_pass(model, tok, task: Task, df, work: Path, *, backend: str, policy: str, gen: GenerationConfig,
                cot_limit: int | None, seed: int, progress, timings: dict) -> tuple[list, dict]:
    """Pass 4: one greedy ``<think>`` trace per row (of a seeded subset with ``cot_limit``), generated
    in checkpointed chunks, parsed and checked against gold under ``policy``, into ``traces.parquet``;
    returns (checked traces, their summary). No usable trace at all is an error."""
    import pandas as pd

    from taskdistill.teacher.generate import generate_local, generate_openai
    from taskdistill.teacher.traces import check_trace, summarize

    cot_df = _subset(df, cot_limit, seed + 1)
    cot_texts, n_cot = cot_df[task.input_field].tolist(), len(cot_df)

    def trace_chunk(a: int, b: int):
        if backend == "local":
            raw = generate_local(model, tok, task, cot_texts[a:b], max_new_tokens=gen.max_new_tokens,
                                 batch_size=gen.batch_size)
        else:
            from taskdistill.data.synth.openai_client import ChatClientError

            try:
                raw = generate_openai(task, cot_texts[a:b], base_url=gen.base_url, model=gen.model,
                                      api_key_env=gen.api_key_env, max_new_tokens=gen.max_new_tokens,
                                      temperature=gen.temperature, timeout_s=gen.timeout_s)
            except ChatClientError as exc:
                raise AnnotationError(f"openai backend failed on rows {a}..{b - 1} ({exc}); rows "
                                      f"before {a} are saved, rerun to resume") from exc
        return pd.DataFrame({"id": cot_df["id"].iloc[a:b].tolist(), "raw": raw})

    t0 = time.perf_counter()
    bar = progress.add_task(f"teacher traces ({backend})", total=n_cot)
    raw = _concat(_chunked(work, "trace_parts", n_cot, TRACE_CHUNK, trace_chunk, progress, bar))
    timings["traces_s"] = round(time.perf_counter() - t0, 1)
    checked = [check_trace(i, r, g, task, policy)
               for i, r, g in zip(raw["id"], raw["raw"], cot_df["label"], strict=True)]
    _write_parquet(work / "traces.parquet", pd.DataFrame([c.__dict__ for c in checked]))
    summary = summarize(checked)
    if not any(c.kept for c in checked):
        raise AnnotationError(
            f"no usable CoT trace among {n_cot} teacher outputs under policy {policy!r} ({summary}); is the "
            f"teacher prepared for the cot format? First output: {checked[0].raw[:120]!r}")
    return checked, summary


def _frames(df, task: Task, formats: tuple[str, ...], checked: list | None, work: Path) -> dict:
    """Pass 5: the rows each format's examples are built from (cot: the kept traces as rationales and
    the label the policy chose), written as ``frame_<fmt>.parquet``."""
    import pandas as pd

    frames = {}
    if "label" in formats:
        frames["label"] = df[list(frame_columns(task))]
    if "cot" in formats:
        kept = [c for c in checked if c.kept]
        by_id = df.set_index("id")
        frames["cot"] = pd.DataFrame({
            "id": [c.id for c in kept],
            task.input_field: [by_id.at[c.id, task.input_field] for c in kept],
            "label": [c.target_label for c in kept],
            "category": [by_id.at[c.id, "category"] for c in kept],
            "rationale": [c.trace for c in kept],  # the teacher's trace is the supervised reasoning
        })
    for fmt, frame in frames.items():
        _write_parquet(work / f"frame_{fmt}.parquet", frame)
    return frames


def _topk_pass(model, tok, task: Task, frames: dict, work: Path, *, k: int, max_length: int, batch_size: int,
               meta: dict, console, timings: dict) -> dict[str, str]:
    """Pass 6: the teacher's top-k log-probs at every supervised position, one cache per format
    (``topk_<fmt>/``); returns each format's examples hash."""
    from taskdistill.targets.cache import write_topk_cache
    from taskdistill.targets.examples import build_examples, examples_hash

    ex_hashes = {}
    for fmt, frame in frames.items():
        traces = dict(zip(frame["id"], frame["rationale"], strict=True)) if fmt == "cot" else None
        ex = build_examples(tok, task, frame, fmt=fmt, traces=traces, max_length=max_length)
        ex_hashes[fmt] = examples_hash(ex)
        t0 = time.perf_counter()
        console.print(f"top-k cache ({fmt}): {len(ex)} examples, "
                      f"{sum(e.n_supervised for e in ex)} supervised positions, k={k}")
        write_topk_cache(model, tok, ex, work / f"topk_{fmt}", k=k, batch_size=batch_size, task_hash=task.hash,
                         meta={**meta, "data_hash": ex_hashes[fmt], "fmt": fmt})
        timings[f"topk_{fmt}_s"] = round(time.perf_counter() - t0, 1)
    return ex_hashes


def _finish(work: Path, final: Path, task: Task, meta: dict) -> None:
    """Pass 7: drop the chunk checkpoints, write ``task.yaml`` and ``meta.json`` and rename the folder
    into place (a concurrent run that finished first wins)."""
    for junk in ("labels_parts", "trace_parts"):
        shutil.rmtree(work / junk, ignore_errors=True)
    write_task(work, task)
    atomic_write_json(work / "meta.json", meta)
    publish_dir(work, final)


def annotate(teacher_dir: str | Path | None, dataset_dir: str | Path, *, task: Task | str | Path | None = None,
             k: int = 64,
             formats: tuple[str, ...] = ("label", "cot"), backend: str = "local", policy: str = "keep",
             limit: int | None = None, quiet: bool = False, split: str = "train", max_length: int = 192,
             gen: GenerationConfig | None = None, batch_size: int = 16,
             allow_other_data: bool = False, cot_limit: int | None = None, seed: int = 0,
             device: str | None = "auto") -> Path:
    """Annotate ``split`` of ``dataset_dir`` with the teacher and return the annotations folder.

    ``task``: a Task, a built-in name or a task YAML; None = the task the teacher (or else the
    dataset folder) records, else finheadlines. A teacher or dataset recorded for another task is an
    error (one message naming both).
    ``teacher_dir``: any model spec (a prepared teacher folder, a registry name); None only with
    ``backend="openai"`` (traces only, no labels, no top-k caches). ``limit``: a seeded random subset
    of N rows (kept in file order: split files are not shuffled, e.g. one class may come first);
    ``cot_limit``: traces for a seeded random subset of N of those rows only (generation is the slow
    part on CPU: ~30 tokens/s), so the cot examples are a subset of the label examples.
    The settings are the fields of ``teacher.config.AnnotateOptions`` plus ``k`` and ``formats``.
    ``device``: where the teacher runs (``models.resolve_device``); not part of the annotations' key.
    """
    from rich.console import Console

    from taskdistill.info import runtime, versions

    formats, gen = _check_settings(formats, backend, policy, k, limit, cot_limit, gen, teacher_dir)
    console = Console(stderr=True, quiet=quiet)
    dataset_dir = Path(dataset_dir).resolve()
    d_hash = dataset_hash(dataset_dir, (split,))
    t_dir = t_hash = None
    if teacher_dir is not None:
        from taskdistill.models import resolve_model_dir

        t_dir = resolve_model_dir(teacher_dir, quiet=quiet)
        t_hash = model_hash(t_dir)
        _check_teacher_data(t_dir, dataset_dir, dataset_hash(dataset_dir), allow_other_data)
    task = _task_for(task, t_dir, dataset_dir)
    settings = {"split": split, "k": k, "formats": list(formats), "backend": backend, "policy": policy,
                "limit": limit, "cot_limit": cot_limit, "seed": seed, "max_length": max_length,
                "gen": gen.model_dump(mode="json", exclude={"batch_size", "timeout_s", "api_key_env"})}
    key = annotations_key(t_hash, d_hash, task.hash, settings)
    final = stage_dir("annotations") / key
    if (final / "meta.json").is_file():
        console.print(f"annotations already done: {final}")
        return final
    work = work_dir(final)
    df = _rows(dataset_dir, split, task, limit, seed)

    model = tok = None
    if t_dir is not None:
        from taskdistill.models import load_model

        model, tok = load_model(t_dir, quiet=quiet, device=device)
    timings: dict[str, float] = {}
    meta_extra: dict = {}
    with make_progress(quiet, info=False, console=console) as progress:
        if model is not None:
            meta_extra["label_accuracy_vs_gold"] = _label_pass(model, tok, task, df, work, batch_size, progress,
                                                               timings)
        checked = None
        if "cot" in formats:
            checked, meta_extra["traces"] = _trace_pass(model, tok, task, df, work, backend=backend, policy=policy,
                                                        gen=gen, cot_limit=cot_limit, seed=seed,
                                                        progress=progress, timings=timings)
    frames = _frames(df, task, formats, checked, work)
    ex_hashes = {}
    if model is not None:
        ex_hashes = _topk_pass(model, tok, task, frames, work, k=k, max_length=max_length, batch_size=batch_size,
                               meta={"teacher_hash": t_hash, "dataset_hash": d_hash, "teacher_dir": str(t_dir)},
                               console=console, timings=timings)
    # Without a local teacher there is no tokenizer to hash examples with: consumers rebuild them
    # from the frames with the student's tokenizer (label/CoT-only supervision).

    meta = {
        "key": key,
        "key_version": KEY_VERSION,
        "teacher_dir": str(t_dir) if t_dir else None,
        "teacher_hash": t_hash,
        "dataset_dir": str(dataset_dir),
        "data_hash": d_hash,
        "task": task_ref(task),
        "n_rows": len(df),
        "rows": {fmt: len(f) for fmt, f in frames.items()},
        "examples_hash": ex_hashes,
        "timings": timings,
        "versions": versions(),
        "runtime": runtime(),
        **settings,
        **meta_extra,
    }
    _finish(work, final, task, meta)
    console.print(f"annotations -> {final}")
    console.print(json.dumps({k: meta[k] for k in ("rows", "timings")} | {
        x: meta[x] for x in ("label_accuracy_vs_gold", "traces") if x in meta}))
    return final
