"""The default dataset of a task: made on first use, reused afterwards.

- ``finheadlines``: the embedded ``finheadlinemix-mini``, produced by the same pipeline as any
  synthetic dataset (template backend, fixed seed), so it is regenerated on demand instead of being
  committed. Its folder under ``stage_dir("data")`` is named by a hash of the generation settings,
  the grammar source files and the task, so editing a template yields a new dataset instead of
  silently reusing a stale one.
- a derived task (``derive:`` in its YAML, e.g. ``finheadlines-coarse``): a copy of its parent
  task's default dataset with every label mapped to its parent group (``derive_labels``) and
  ``category`` recomputed for the derived task. The copy is content-addressed by the parent data's
  hash and the task's hash, so it costs no new data and a rerun reuses it.
- any other task has no default dataset: its data comes from ``taskdistill data import``.

Sizes of finheadlinemix-mini (why): 8,000 kept headlines cost ~1-3 minutes on 2 cores (MiniLM
embedding dominates). The test set is 20 per class (700): with one CPU forward per item,
evaluating a student costs a few minutes, and 20 per class keeps every class in macro-F1.
Validation 10 per class (350) for early stopping; train gets the rest (~6,950). OTHER gets a 3x
target weight in train, because real feeds are mostly OTHER (market wraps, lists, commentary);
every class stays above 2% of rows.
"""

from __future__ import annotations

import io
import json
import shutil
from importlib import resources
from pathlib import Path

import pandas as pd

from taskdistill.cache import atomic_dir, content_hash, stage_dir, work_dir
from taskdistill.data.loader import SPLITS, data_hash
from taskdistill.data.synth.pipeline import SynthConfig, generate_dataset
from taskdistill.data.taskfile import TASK_FILE, folder_task, write_task_yaml
from taskdistill.errors import TaskdistillError
from taskdistill.task import Task, derive_labels, load_task

# name -> (task, generation settings)
PRESETS: dict[str, tuple[str, SynthConfig]] = {
    "finheadlinemix-mini": ("finheadlines", SynthConfig(
        backend="template", size=8000, seed=0, batch_size=2500, threshold=0.9, target_weights={"other": 3.0},
        test_per_class=20, val_per_class=10)),
}
DEFAULT_DATASET = {"finheadlines": "finheadlinemix-mini"}  # task name -> preset
# The grammar files decide the content; pipeline logic is versioned by hand (PIPELINE_VERSION) so a
# refactor that does not change outputs does not force every user to regenerate.
_SOURCES = ("synth/templates.py", "synth/pools.py")
DERIVE_VERSION = 1
_COPY = ("train.parquet", "validation.parquet", "test.parquet", "stats.json", "stats.png", "timings.json", TASK_FILE)


class DatasetError(TaskdistillError, ValueError):
    """No default dataset for a task, or a parent dataset that does not fit a derived task."""


def _source_hash(task: Task) -> str:
    from taskdistill.data.synth.pipeline import PIPELINE_VERSION

    root = resources.files("taskdistill.data")
    return content_hash(PIPELINE_VERSION, *[root.joinpath(p).read_text() for p in _SOURCES], task.hash)


def dataset_dir(name: str = "finheadlinemix-mini") -> Path:
    """Folder of a generated preset dataset (it may not exist yet)."""
    if name not in PRESETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(PRESETS)}")
    task_name, cfg = PRESETS[name]
    return stage_dir("data") / f"{name}-{content_hash(cfg, _source_hash(load_task(task_name)))}"


def ensure_dataset(name: str = "finheadlinemix-mini", quiet: bool = False) -> Path:
    """Folder of a generated preset (train/validation/test.parquet, stats.json, stats.png,
    task.yaml); built on first call."""
    final = dataset_dir(name)
    if (final / "test.parquet").exists():
        return final
    task_name, cfg = PRESETS[name]
    work = work_dir(final)  # resumable pipeline state survives a kill
    generate_dataset(work, cfg, load_task(task_name), quiet=quiet)
    with atomic_dir(final) as tmp:
        for f in _COPY:
            (tmp / f).write_bytes((work / f).read_bytes())
    shutil.rmtree(work, ignore_errors=True)
    return final


def _no_default(task: Task) -> DatasetError:
    return DatasetError(f"task {task.name!r} has no built-in dataset; import your labelled file with "
                        f"`taskdistill data import FILE --task TASK --map text=COLUMN --map label=COLUMN --out DIR` "
                        "and pass that folder")


def default_dataset_dir(task: Task | str) -> Path:
    """Where ``default_dataset(task)`` is (or will be), without building anything."""
    task = load_task(task)
    if task.name in DEFAULT_DATASET and task.derive is None:
        return dataset_dir(DEFAULT_DATASET[task.name])
    if task.derive is not None:
        parent = default_dataset_dir(task.derive.task)
        if not (parent / "test.parquet").exists():  # the key needs the parent's bytes
            raise DatasetError(f"task {task.name!r}: its parent dataset {parent} is not built yet; "
                               "call default_dataset first")
        return _derived_dir(parent, task)
    raise _no_default(task)


def default_dataset(task: Task | str, quiet: bool = False) -> Path:
    """The default dataset folder of ``task`` (built on first use): see the module docstring."""
    task = load_task(task)
    if task.derive is not None:
        parent_task = load_task(task.derive.task)
        return derived_dataset(default_dataset(parent_task, quiet=quiet), task, parent_task)
    if task.name in DEFAULT_DATASET:
        name = DEFAULT_DATASET[task.name]
        if load_task(PRESETS[name][0]).hash != task.hash:
            raise DatasetError(f"task {task.name!r} (hash {task.hash}) is not the built-in {task.name!r} "
                               f"that {name} is generated for; rename your task or import its data")
        return ensure_dataset(name, quiet=quiet)
    raise _no_default(task)


def _derived_dir(parent_dir: Path, task: Task) -> Path:
    return stage_dir("data") / f"{task.name}-{content_hash('derived', DERIVE_VERSION, data_hash(parent_dir), task.hash)}"


def derived_dataset(parent_dir: str | Path, task: Task | str, parent_task: Task | str | None = None) -> Path:
    """A copy of ``parent_dir`` relabelled for the derived ``task``: label := the parent label's
    group, category := ``task.group(label)``; every other column (id, text, rationale, kind) as is.

    Content-addressed (parent data hash + task hash), built atomically; a second call returns the
    same folder."""
    from taskdistill.data.stats import dataset_stats, plot_stats

    task = load_task(task)
    if task.derive is None:
        raise DatasetError(f"task {task.name!r} is not derived from another task (no 'derive:' in its YAML)")
    parent_dir = Path(parent_dir)
    parent_task = folder_task(parent_dir, parent_task if parent_task is not None else task.derive.task)
    if parent_task.hash != load_task(task.derive.task).hash:
        raise DatasetError(f"{parent_dir}: holds data of task {parent_task.name!r}, but {task.name!r} derives from "
                           f"{task.derive.task!r}")
    final = _derived_dir(parent_dir, task)
    if (final / "test.parquet").exists():
        return final
    splits: dict[str, pd.DataFrame] = {}
    with atomic_dir(final) as tmp:
        for s in SPLITS:
            df = pd.read_parquet(parent_dir / f"{s}.parquet")
            labels = derive_labels(task, df["label"].tolist())
            df["label"] = labels
            df["category"] = [task.group(lab) for lab in labels]
            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            (tmp / f"{s}.parquet").write_bytes(buf.getvalue())
            splits[s] = df
        stats = dataset_stats(splits, task, extra=dict(derived_from=dict(
            folder=parent_dir.name, data_hash=data_hash(parent_dir), task=parent_task.name,
            task_hash=parent_task.hash)))
        (tmp / "stats.json").write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
        plot_stats(stats, tmp / "stats.png", task)
        write_task_yaml(task, tmp / TASK_FILE)
    return final
