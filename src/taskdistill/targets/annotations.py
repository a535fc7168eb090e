"""Reading a teacher-annotations folder: the examples and teacher caches students train from.

``taskdistill teacher annotate`` writes the folder (see ``taskdistill.teacher.annotate`` for its
layout); this module is the read side, shared by every consumer (``distill``, the sweep), so none of
them needs the teacher stage. ``load_annotations`` opens a finished folder, checks it against the
teacher, dataset and task it is used with, and ``Annotations.training_set`` rebuilds the training
examples (with the consumer's tokenizer) aligned with the top-k cache of each format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from taskdistill.errors import TaskdistillError
from taskdistill.targets.record import TaskMismatchError, check_task, resolve_task
from taskdistill.task import FORMATS, Task


class AnnotationError(TaskdistillError, ValueError):
    """Annotations that are missing, incomplete, or do not match the teacher/data/task asked for."""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise AnnotationError(f"{path}: cannot read ({exc})") from exc


@dataclass(frozen=True)
class Annotations:
    """A finished annotations folder: paths, meta, and the examples its top-k caches align with."""

    dir: Path
    meta: dict
    task: Task

    @property
    def task_ref(self) -> dict | None:
        """``{"name", "hash"}`` of the task the folder was annotated for."""
        return self.meta.get("task")

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(self.meta["formats"])

    @property
    def teacher_hash(self) -> str:
        return self.meta["teacher_hash"]

    @property
    def data_hash(self) -> str:
        return self.meta["data_hash"]

    @property
    def labels_path(self) -> Path:
        return self.dir / "labels.parquet"

    @property
    def traces_path(self) -> Path:
        return self.dir / "traces.parquet"

    def _need(self, fmt: str) -> None:
        if fmt not in FORMATS:
            raise AnnotationError(f"unknown format {fmt!r}; choose one of {FORMATS}")
        if fmt not in self.formats:
            raise AnnotationError(f"{self.dir}: has no {fmt!r} annotations (formats: {list(self.formats)}); "
                                  f"rerun `taskdistill teacher annotate --formats {fmt}`")

    def labels(self):
        import pandas as pd

        if not self.labels_path.is_file():
            raise AnnotationError(f"{self.dir}: no labels.parquet (annotated without a local teacher)")
        return pd.read_parquet(self.labels_path)

    def traces(self):
        import pandas as pd

        if not self.traces_path.is_file():
            raise AnnotationError(f"{self.dir}: no CoT traces (traces.parquet); annotate with --formats cot")
        return pd.read_parquet(self.traces_path)

    def trace_map(self) -> dict[str, str]:
        """id -> trace, for the kept traces only."""
        df = self.traces()
        df = df[df["kept"]]
        return dict(zip(df["id"].astype(str), df["trace"], strict=True))

    def frame(self, fmt: str):
        """The rows the ``fmt`` examples (and the ``fmt`` top-k cache) are built from, in order."""
        import pandas as pd

        self._need(fmt)
        return pd.read_parquet(self.dir / f"frame_{fmt}.parquet")

    def examples(self, tokenizer, fmt: str):
        """Rebuild the examples the ``fmt`` cache is aligned with; checks they hash the same."""
        from taskdistill.targets.examples import build_examples, examples_hash

        df = self.frame(fmt)
        traces = dict(zip(df["id"].astype(str), df["rationale"], strict=True)) if fmt == "cot" else None
        ex = build_examples(tokenizer, self.task, df, fmt=fmt, traces=traces, max_length=self.meta["max_length"])
        want = self.meta["examples_hash"].get(fmt)
        if want and examples_hash(ex) != want:
            raise AnnotationError(f"{self.dir}: examples rebuilt for {fmt!r} do not match the cache "
                                  f"(hash {examples_hash(ex)} != {want}); was another tokenizer passed?")
        return ex

    def cache_dir(self, fmt: str) -> Path:
        self._need(fmt)
        d = self.dir / f"topk_{fmt}"
        if not d.is_dir():
            raise AnnotationError(f"{self.dir}: no top-k cache for {fmt!r} (annotated with the openai "
                                  "backend and no local teacher: label/CoT-only supervision)")
        return d

    def topk_cache(self, fmt: str):
        """Open the ``fmt`` top-k cache, checked against this folder's teacher and examples."""
        from taskdistill.targets.cache import TopKCache

        return TopKCache.open(self.cache_dir(fmt), expect_teacher=self.teacher_hash,
                              expect_data=self.meta["examples_hash"][fmt], expect_fmt=fmt,
                              expect_task=self.task.hash if self.task_ref else None)

    def training_set(self, tokenizer, supervision: str, *, label_mix: bool = True, fmt: str | None = None,
                     ids: set[str] | None = None):
        """Examples and the teacher cache a ``supervision`` trains from: ``label`` -> label-format
        rows; ``cot`` -> CoT rows (kept traces); ``blended`` -> CoT rows plus, with ``label_mix``, the
        label-format rows under one mixed cache. ``fmt`` forces one format; ``ids`` keeps a subset of
        the rows (a data-size sweep). Returns ``(examples, cache)``; ``cache`` is None without a
        local teacher's top-k cache."""
        from taskdistill.targets.cache import MixedCache

        if fmt is not None:
            fmts = [fmt]
        elif supervision == "blended" and label_mix and "label" in self.formats:
            fmts = ["cot", "label"]
        else:
            fmts = ["label" if supervision == "label" else "cot"]
        examples, caches = [], []
        for f in fmts:
            ex = self.examples(tokenizer, f)
            examples += [e for e in ex if ids is None or e.id in ids]
            if (self.dir / f"topk_{f}").is_dir():
                caches.append(self.topk_cache(f))
        if len(caches) < len(fmts):
            return examples, None
        return examples, caches[0] if len(caches) == 1 else MixedCache(caches)


def load_annotations(path: str | Path, task: Task | str | Path | None = None, *,
                     expect_teacher: str | None = None, expect_data: str | None = None) -> Annotations:
    """Open a finished annotations folder (optionally checking teacher / dataset hashes).

    ``task``: the task the consumer works on; it must be the one the folder was annotated for
    (error otherwise). None uses the folder's recorded task (``task.yaml``)."""
    path = Path(path)
    if not path.is_dir():
        raise AnnotationError(f"annotations folder not found: {path}")
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise AnnotationError(f"{path}: no meta.json; not a finished annotations folder "
                              "(an interrupted run resumes when `teacher annotate` is rerun)")
    meta = _read_json(meta_path)
    if expect_teacher and meta.get("teacher_hash") != expect_teacher:
        raise AnnotationError(f"{path}: annotations come from teacher {meta.get('teacher_hash')}, "
                              f"expected {expect_teacher}")
    if expect_data and meta.get("data_hash") != expect_data:
        raise AnnotationError(f"{path}: annotations are for dataset {meta.get('data_hash')}, "
                              f"expected {expect_data}")
    try:
        t = resolve_task(task, path, what="annotations")
        check_task(t, meta.get("task"), f"annotations {path}")
    except TaskMismatchError as exc:
        raise AnnotationError(str(exc)) from None
    return Annotations(dir=path, meta=meta, task=t)
