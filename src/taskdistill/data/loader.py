"""Load split files (parquet, JSONL, CSV) of a task into the split contract, with checks.

Output columns: ``id, <task.input_field>, label, category, rationale`` (``category`` is always
recomputed as ``task.group(label)``; a file whose category disagrees is an error, because it means
the file uses another label set). Labels are read through ``task.canonical``: a spelling listed in
the task's ``aliases`` becomes its label (counted in the report). Extra columns are kept only with
``keep_extra=True``.

Row-level checks (each bad row gets one reason, the first that applies):
``non_text`` (text/label not a string, e.g. a number or null), ``bad_encoding`` (undecodable
bytes, U+FFFD replacement characters or mojibake like "â€™"), ``empty_text`` (empty or
whitespace), ``unknown_label``, ``category_mismatch``, ``duplicate_id``, ``duplicate_row`` (same
text and label as an earlier row), ``conflicting_label`` (same text as an earlier row, another
label). ``on_bad="error"`` (default) raises ``DataValidationError`` naming the file, the row
(0-based data row, and the line for CSV/JSONL) and the field; ``on_bad="skip"`` drops bad rows and
reports the count per reason. Nothing is silently changed: texts are not stripped, re-cased or
re-encoded.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from taskdistill.cache import content_hash, file_hash
from taskdistill.errors import InputError, TaskdistillError
from taskdistill.task import Task

SPLITS = ("train", "validation", "test")
REASONS = ("non_text", "bad_encoding", "control_chars", "too_long", "empty_text", "unknown_label",
           "category_mismatch", "duplicate_id", "duplicate_row", "conflicting_label")
_MOJIBAKE = re.compile("(\ufffd|Ã[\u0080-\u00bf]|â€)")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # NUL and other C0 controls; not tab/newline
# A classifier input is a headline or a short message: longer texts are almost surely a broken file (a
# whole article in one cell) and would make scoring allocate memory for a prompt no model context holds.
MAX_TEXT_CHARS = 2000


class DataValidationError(TaskdistillError, ValueError):
    """A split file that does not meet the contract; the message names file, row and field."""

    def __init__(self, message: str, path: str | Path | None = None, row: int | None = None,
                 field: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.path, self.row, self.field, self.reason = path, row, field, reason


def columns(task: Task) -> list[str]:
    """The contract columns of a split file of ``task``, in order."""
    return ["id", task.input_field, "label", "category", "rationale"]


def read_table(path: str | Path) -> tuple[pd.DataFrame, int]:
    """Raw frame (all columns as read) and the offset from data row index to file line number
    (0 for parquet, 1 for JSONL, 2 for CSV with its header line)."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: file not found", path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), 0
        if suffix in (".jsonl", ".json", ".ndjson"):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise DataValidationError(f"{path}: line {line}: not valid UTF-8 (byte {exc.start})",
                                          path, line - 1, None, "bad_encoding") from None
            rows = []
            for i, line in enumerate(text.splitlines()):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataValidationError(f"{path}: line {i + 1}: not valid JSON ({exc.msg})", path, i) from None
                if not isinstance(obj, dict):
                    raise DataValidationError(f"{path}: line {i + 1}: expected a JSON object, got "
                                              f"{type(obj).__name__}", path, i)
                rows.append(obj)
            return pd.DataFrame(rows), 1
        if suffix in (".csv", ".tsv"):
            raw = path.read_bytes()
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise DataValidationError(f"{path}: line {line}: not valid UTF-8 (byte {exc.start}); "
                                          "re-save the file as UTF-8", path, line - 2, None, "bad_encoding") from None
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=object, keep_default_na=False,
                               na_values=[]), 2
    except DataValidationError:
        raise
    except Exception as exc:  # parser errors (pyarrow raises several types for a truncated file) name the file
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataValidationError(f"{path}: not a readable {suffix[1:]} file ({first})", path) from exc
    raise DataValidationError(f"{path}: unsupported file type {suffix!r}; use .parquet, .jsonl or .csv", path)


def _where(path: Path, i: int, offset: int) -> str:
    return f"{path}: row {i}" + (f" (line {i + offset})" if offset else "")


def _is_null(v) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def validate_frame(df: pd.DataFrame, task: Task, path: str | Path, offset: int = 0, on_bad: str = "error",
                   keep_extra: bool = False, report: dict | None = None, duplicates: str = "bad") -> pd.DataFrame:
    """Check the rows of ``df`` (already renamed to contract names) against ``task``.

    ``duplicates="bad"`` treats a repeated (text, label) as a bad row (``duplicate_row``);
    ``duplicates="drop"`` removes it silently but counts it in ``report["duplicates_removed"]``
    (what ``data import`` does). ``report`` receives ``{"rows", "kept", "dropped": {reason: n},
    "aliased": n}`` (+ ``duplicates_removed``)."""
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}")
    if duplicates not in ("bad", "drop"):
        raise ValueError(f"duplicates must be 'bad' or 'drop', got {duplicates!r}")
    path = Path(path)
    text_col = task.input_field
    missing = [c for c in (text_col, "label") if c not in df.columns]
    if missing:
        raise DataValidationError(f"{path}: missing required column(s) {missing}; file has {list(df.columns)} "
                                  "(map your columns onto them, e.g. --map text=COLUMN)", path, field=missing[0])
    df = df.reset_index(drop=True)
    bad: dict[int, tuple[str, str, str]] = {}  # row -> (reason, field, detail)
    dups: list[int] = []
    labels: list[str | None] = [None] * len(df)
    seen_ids: dict[str, int] = {}
    seen_text: dict[str, tuple[str, int]] = {}
    has_id, has_cat, has_rat = "id" in df.columns, "category" in df.columns, "rationale" in df.columns
    aliased = 0
    for i in range(len(df)):
        h, raw_lab = df.at[i, text_col], df.at[i, "label"]
        reason = None
        for name, v in ((text_col, h), ("label", raw_lab)):
            if not isinstance(v, str):
                shown = "null" if _is_null(v) else f"{type(v).__name__} {v!r}"
                reason = ("non_text", name, f"expected text, got {shown}")
                break
        if reason is None and has_rat and not isinstance(df.at[i, "rationale"], str) \
                and not _is_null(df.at[i, "rationale"]):
            reason = ("non_text", "rationale", f"expected text, got {type(df.at[i, 'rationale']).__name__}")
        if reason is None:
            for name, v in ((text_col, h), ("label", raw_lab)):
                m = _MOJIBAKE.search(v)
                if m:
                    reason = ("bad_encoding", name, f"broken characters {m.group(0)!r} (wrong encoding?)")
                    break
        if reason is None:
            m = _CONTROL.search(h)
            if m:
                reason = ("control_chars", text_col, f"control character {m.group(0)!r} at position {m.start()}")
        if reason is None and len(h) > MAX_TEXT_CHARS:
            reason = ("too_long", text_col, f"{len(h):,} characters; at most {MAX_TEXT_CHARS:,} are accepted")
        if reason is None and not h.strip():
            reason = ("empty_text", text_col, f"empty or whitespace-only {text_col}")
        lab = task.canonical(raw_lab) if reason is None else None
        if reason is None and lab is None:
            reason = ("unknown_label", "label", f"unknown label {raw_lab!r} (not one of the {task.n_classes} labels "
                                                f"of task {task.name!r})")
        if reason is None and has_cat:
            c = df.at[i, "category"]
            if isinstance(c, str) and c and c != task.group(lab):
                reason = ("category_mismatch", "category",
                          f"category {c!r} but label {lab!r} belongs to {task.group(lab)!r}")
        if reason is None and has_id:
            rid = df.at[i, "id"]
            rid = str(rid) if rid is not None else ""
            if rid in seen_ids:
                reason = ("duplicate_id", "id", f"id {rid!r} already used by row {seen_ids[rid]}")
        if reason is None and h in seen_text:
            prev_lab, j = seen_text[h]
            if prev_lab != lab:
                reason = ("conflicting_label", "label", f"same {text_col} as row {j} but label {lab!r} "
                                                        f"instead of {prev_lab!r}")
            elif duplicates == "bad":
                reason = ("duplicate_row", text_col, f"same {text_col} and label as row {j}")
            else:
                dups.append(i)
                continue
        if reason is not None:
            if on_bad == "error":
                raise DataValidationError(f"{_where(path, i, offset)}, field '{reason[1]}': {reason[2]} "
                                          f"[{reason[0]}]; fix the file or use on_bad='skip' (--on-bad skip)",
                                          path, i, reason[1], reason[0])
            bad[i] = reason
            continue
        if has_id:
            seen_ids[rid] = i
        seen_text[h] = (lab, i)
        labels[i] = lab
        aliased += lab != raw_lab
    dropped = Counter(r[0] for r in bad.values())
    ok = df.drop(index=sorted([*bad, *dups]))
    kept_rows = ok.index.tolist()
    kept_labels = [labels[i] for i in kept_rows]
    ok = ok.reset_index(drop=True)
    out = pd.DataFrame({
        "id": ok["id"].astype(str) if has_id else [f"{path.stem}-{i}" for i in kept_rows],
        text_col: ok[text_col].astype(str),
        "label": pd.Series(kept_labels, dtype=object),
        "category": [task.group(lab) for lab in kept_labels],
        "rationale": ok["rationale"].map(lambda v: v if isinstance(v, str) else "") if has_rat else "",
    })
    if keep_extra:
        for c in ok.columns:
            if c not in out.columns:
                out[c] = ok[c].to_numpy()
    if report is not None:
        report.update(rows=len(df), kept=len(out), dropped={r: dropped.get(r, 0) for r in REASONS if dropped.get(r)},
                      aliased=aliased)
        if duplicates == "drop":
            report["duplicates_removed"] = len(dups)
    return out


def load_split(path: str | Path, task: Task, column_map: dict | None = None, on_bad: str = "error",
               keep_extra: bool = False, report: dict | None = None) -> pd.DataFrame:
    """Read and validate one split file of ``task``.

    ``column_map`` renames source columns to contract names, e.g. ``{"body": "text", "event":
    "label"}``. ``report`` (a dict), when given, receives ``{"rows": n_read, "kept": n,
    "dropped": {reason: count}, "aliased": n}``."""
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}")
    path = Path(path)
    df, offset = read_table(path)
    if column_map:
        missing_src = [c for c in column_map if c not in df.columns]
        if missing_src:
            raise DataValidationError(f"{path}: column_map names columns not in the file: {missing_src}; "
                                      f"file has {list(df.columns)}", path)
        df = df.rename(columns=column_map)
    return validate_frame(df, task, path, offset, on_bad=on_bad, keep_extra=keep_extra, report=report)


def split_file(path: str | Path, split: str = "train") -> Path:
    """The file a split argument names: a dataset folder means its ``<split>.parquet``, a file is itself
    (parquet, JSONL or CSV). Raises ``InputError`` naming what is missing (and, for a folder, what it holds)."""
    from taskdistill.checks import check_name

    path = Path(path).expanduser()
    if path.is_dir():
        check_name(split, "split")  # a split is a file name inside the folder: never '../x'
        f = path / f"{split}.parquet"
        if not f.is_file():
            have = sorted(p.name for p in path.glob("*.parquet")) or ["no parquet files"]
            raise InputError(path, f"missing {split}.parquet (found: {', '.join(have)}); a dataset folder holds "
                                   "train/validation/test.parquet")
        return f
    if not path.is_file():
        raise InputError(path, f"no such split file or dataset folder (pass a {split} split file or a "
                               "dataset folder holding it)")
    return path


def read_split(path: str | Path, task: Task, split: str = "train", **kw) -> pd.DataFrame:
    """Read and validate one split of ``task``: ``split_file(path, split)`` through ``load_split``
    (keyword arguments as there). The one way every stage reads a split it is given."""
    return load_split(split_file(path, split), task, **kw)


def split_files(folder: str | Path) -> dict[str, Path]:
    """``{split: file}`` of a dataset folder (parquet, jsonl or csv), or a clear error."""
    folder = Path(folder)
    out = {}
    for name in SPLITS:
        found = [folder / f"{name}{ext}" for ext in (".parquet", ".jsonl", ".csv") if (folder / f"{name}{ext}").exists()]
        if not found:
            raise DataValidationError(f"{folder}: no {name}.parquet/.jsonl/.csv", folder)
        out[name] = found[0]
    return out


def load_dataset(folder: str | Path, task: Task, **kw) -> dict[str, pd.DataFrame]:
    """The three splits of a dataset folder (``train/validation/test`` as parquet, jsonl or csv)."""
    return {name: load_split(p, task, **kw) for name, p in split_files(folder).items()}


def data_hash(folder: str | Path, splits: tuple[str, ...] = SPLITS) -> str:
    """Hash of a dataset folder's split files' bytes (stats, plots and task.yaml do not count); every
    stage that keys on a dataset (teacher preparation, annotation, derived copies, imports) uses it."""
    folder = Path(folder)
    return content_hash("dataset", [(s, file_hash(folder / f"{s}.parquet")) for s in splits])
