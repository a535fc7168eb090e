"""Import a user's labelled file (CSV, JSONL or parquet) as a dataset folder of a task.

    taskdistill data import FILE --task TASK --map text=COL --map label=COL --out DIR

Steps: read the file; take the mapped columns (``text`` is the task's input field; ``label``
required, ``id`` and ``rationale`` optional); validate every row with the loader's checks (bad rows
stop the import, or are dropped and counted per reason with ``on_bad="skip"``); map label aliases;
remove exact duplicates (same text and label, counted); split stratified by label with
``fraction_splits`` (texts equal up to case/spacing/punctuation never cross splits); write

    DIR/train.parquet, validation.parquet, test.parquet   the split contract of the task
    DIR/stats.json (+ stats.png)                         sizes, label shares, BoW probe
    DIR/task.yaml                                        the task, so the folder is self-describing
    DIR/manifest.json                                    data hash, task name + hash, source hash, counts

The folder is built under a temporary name and swapped in when complete; an existing ``DIR`` is only replaced when it holds an earlier
import (its ``manifest.json``), never another folder's content.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from taskdistill.cache import file_hash
from taskdistill.data.loader import DataValidationError, columns, data_hash, read_table, validate_frame
from taskdistill.data.splits import fraction_splits
from taskdistill.data.taskfile import TASK_FILE, write_task_yaml
from taskdistill.task import Task

MANIFEST = "manifest.json"
IMPORT_VERSION = 1
OPTIONAL = ("id", "rationale")


def resolve_mapping(task: Task, mapping: dict[str, str] | None, available: list[str], path: Path) -> dict[str, str]:
    """``{contract field: source column}``; ``text`` stands for ``task.input_field``. A field not
    mapped is taken from a column of the same name when the file has one."""
    out: dict[str, str] = {}
    for field, col in (mapping or {}).items():
        name = task.input_field if field == "text" else field
        if name not in (task.input_field, "label", *OPTIONAL):
            raise DataValidationError(f"--map {field}={col}: unknown field {field!r}; map text (or "
                                      f"{task.input_field!r}), label, id or rationale", path, field=field)
        if col not in available:
            raise DataValidationError(f"{path}: --map {field}={col}: no column {col!r}; file has {available}",
                                      path, field=field)
        out[name] = col
    for name in (task.input_field, "label", *OPTIONAL):
        if name not in out and name in available:
            out[name] = name
    missing = [n for n in (task.input_field, "label") if n not in out]
    if missing:
        hint = " ".join(f"--map {'text' if n == task.input_field else n}=COLUMN" for n in missing)
        raise DataValidationError(f"{path}: no column for {missing}; file has {available}; pass {hint}", path,
                                  field=missing[0])
    return out


def import_file(path: str | Path, task: Task, out: str | Path, mapping: dict[str, str] | None = None,
                on_bad: str = "error", seed: int = 0, val_frac: float = 0.1, test_frac: float = 0.1,
                plot: bool = True) -> dict:
    """Import ``path`` into the dataset folder ``out`` for ``task``; returns the manifest."""
    from taskdistill.data.stats import dataset_stats, plot_stats

    path, out = Path(path), Path(out)
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise DataValidationError(f"{out}: exists and is not an earlier import (no {MANIFEST}); choose another --out",
                                  out)
    raw, offset = read_table(path)
    cols = resolve_mapping(task, mapping, [str(c) for c in raw.columns], path)
    df = raw[list(cols.values())].copy()
    df.columns = list(cols.keys())
    report: dict = {}
    rows = validate_frame(df, task, path, offset, on_bad=on_bad, report=report, duplicates="drop")
    splits, info = fraction_splits(rows, task, val_frac=val_frac, test_frac=test_frac, seed=seed)
    stats = dataset_stats(splits, task)
    manifest = dict(
        kind="import", version=IMPORT_VERSION, data_hash=None,
        task=dict(name=task.name, hash=task.hash),
        source=dict(file=path.name, hash=file_hash(path), mapping=cols),
        settings=dict(on_bad=on_bad, seed=seed, val_frac=val_frac, test_frac=test_frac),
        counts=dict(rows_read=report["rows"], bad_rows_dropped=report["dropped"],
                    duplicates_removed=report["duplicates_removed"], aliased_labels=report["aliased"],
                    kept=report["kept"], splits=info["sizes"],
                    per_label={lab: int((rows["label"] == lab).sum()) for lab in task.label_names}))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        for name, split in splits.items():
            buf = io.BytesIO()
            split[columns(task)].to_parquet(buf, index=False)
            (tmp / f"{name}.parquet").write_bytes(buf.getvalue())
        manifest["data_hash"] = data_hash(tmp)
        stats["import"] = {k: manifest[k] for k in ("source", "settings", "counts")}
        (tmp / "stats.json").write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n")
        if plot:
            plot_stats(stats, tmp / "stats.png", task)
        write_task_yaml(task, tmp / TASK_FILE)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        os.chmod(tmp, 0o755)
        # swap into place: an earlier import goes only once the new one is complete
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
