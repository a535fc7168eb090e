"""Load FinHeadlineMix-style split files (parquet, JSONL, CSV) into the split contract, with checks.

Output columns: ``id, headline, label, category, rationale`` (``category`` is always recomputed as
``coarse(label)``; a file whose category disagrees is an error, because it means the file uses
another taxonomy). Extra columns are kept only with ``keep_extra=True``.

Row-level checks (each bad row gets one reason, the first that applies):
``non_text`` (headline/label not a string, e.g. a number or null), ``bad_encoding`` (undecodable
bytes, U+FFFD replacement characters or mojibake like "â€™"), ``empty_headline`` (empty or
whitespace), ``unknown_label``, ``category_mismatch``, ``duplicate_id``, ``duplicate_row`` (same
headline and label as an earlier row). ``on_bad="error"`` (default) raises ``DataValidationError``
naming the file, the row (0-based data row, and the line for CSV/JSONL) and the field;
``on_bad="skip"`` drops bad rows and reports the count per reason. Nothing is silently changed:
headlines are not stripped, re-cased or re-encoded.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from taskdistill.data.taxonomy import LABELS, coarse

COLUMNS = ["id", "headline", "label", "category", "rationale"]
REQUIRED = ("headline", "label")
REASONS = ("non_text", "bad_encoding", "empty_headline", "unknown_label", "category_mismatch", "duplicate_id",
           "duplicate_row")
_MOJIBAKE = re.compile("(\ufffd|Ã[\u0080-\u00bf]|â€)")


class DataValidationError(ValueError):
    """A split file that does not meet the contract; the message names file, row and field."""

    def __init__(self, message: str, path: str | Path | None = None, row: int | None = None,
                 field: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.path, self.row, self.field, self.reason = path, row, field, reason


def _read(path: Path) -> tuple[pd.DataFrame, int]:
    """Raw frame (all columns as read) and the offset from data row index to file line number."""
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
    except Exception as exc:  # parser errors name the file
        raise DataValidationError(f"{path}: cannot read as {suffix[1:]}: {exc}", path) from exc
    raise DataValidationError(f"{path}: unsupported file type {suffix!r}; use .parquet, .jsonl or .csv", path)


def _where(path: Path, i: int, offset: int) -> str:
    return f"{path}: row {i}" + (f" (line {i + offset})" if offset else "")


def load_split(path: str | Path, column_map: dict | None = None, on_bad: str = "error",
               keep_extra: bool = False, report: dict | None = None) -> pd.DataFrame:
    """Read and validate one split file.

    ``column_map`` renames source columns to contract names, e.g. ``{"text": "headline",
    "event": "label"}``. ``report`` (a dict), when given, receives ``{"rows": n_read, "kept": n,
    "dropped": {reason: count}}``."""
    if on_bad not in ("error", "skip"):
        raise ValueError(f"on_bad must be 'error' or 'skip', got {on_bad!r}")
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: file not found", path)
    df, offset = _read(path)
    if column_map:
        missing_src = [c for c in column_map if c not in df.columns]
        if missing_src:
            raise DataValidationError(f"{path}: column_map names columns not in the file: {missing_src}; "
                                      f"file has {list(df.columns)}", path)
        df = df.rename(columns=column_map)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataValidationError(f"{path}: missing required column(s) {missing}; file has {list(df.columns)} "
                                  "(pass column_map to rename)", path, field=missing[0])
    df = df.reset_index(drop=True)
    bad: dict[int, tuple[str, str, str]] = {}  # row -> (reason, field, detail)
    seen_ids: dict[str, int] = {}
    seen_rows: dict[tuple[str, str], int] = {}
    has_id, has_cat = "id" in df.columns, "category" in df.columns
    has_rat = "rationale" in df.columns
    for i in range(len(df)):
        h, lab = df.at[i, "headline"], df.at[i, "label"]
        reason = None
        for name, v in (("headline", h), ("label", lab)):
            if not isinstance(v, str):
                shown = "null" if v is None or (isinstance(v, float) and v != v) else f"{type(v).__name__} {v!r}"
                reason = ("non_text", name, f"expected text, got {shown}")
                break
        if reason is None and has_rat and not isinstance(df.at[i, "rationale"], str | type(None)) \
                and not (isinstance(df.at[i, "rationale"], float) and df.at[i, "rationale"] != df.at[i, "rationale"]):
            reason = ("non_text", "rationale", f"expected text, got {type(df.at[i, 'rationale']).__name__}")
        if reason is None:
            for name, v in (("headline", h), ("label", lab)):
                m = _MOJIBAKE.search(v)
                if m:
                    reason = ("bad_encoding", name, f"broken characters {m.group(0)!r} (wrong encoding?)")
                    break
        if reason is None and not h.strip():
            reason = ("empty_headline", "headline", "empty or whitespace-only headline")
        if reason is None and lab not in LABELS:
            reason = ("unknown_label", "label", f"unknown label {lab!r} (not one of the {len(LABELS)} classes)")
        if reason is None and has_cat:
            c = df.at[i, "category"]
            if isinstance(c, str) and c and c != coarse(lab):
                reason = ("category_mismatch", "category", f"category {c!r} but label {lab!r} belongs to {coarse(lab)!r}")
        if reason is None and has_id:
            rid = df.at[i, "id"]
            rid = str(rid) if rid is not None else ""
            if rid in seen_ids:
                reason = ("duplicate_id", "id", f"id {rid!r} already used by row {seen_ids[rid]}")
            else:
                seen_ids[rid] = i
        if reason is None:
            key = (h, lab)
            if key in seen_rows:
                reason = ("duplicate_row", "headline", f"same headline and label as row {seen_rows[key]}")
            else:
                seen_rows[key] = i
        if reason is not None:
            if on_bad == "error":
                raise DataValidationError(f"{_where(path, i, offset)}, field '{reason[1]}': {reason[2]} "
                                          f"[{reason[0]}]; fix the file or use on_bad='skip'",
                                          path, i, reason[1], reason[0])
            bad[i] = reason
    dropped = Counter(r[0] for r in bad.values())
    ok = df.drop(index=list(bad)).reset_index(drop=True)
    out = pd.DataFrame({
        "id": ok["id"].astype(str) if has_id else [f"{path.stem}-{i}" for i in ok.index],
        "headline": ok["headline"].astype(str),
        "label": ok["label"].astype(str),
        "category": [coarse(lab) for lab in ok["label"]],
        "rationale": ok["rationale"].map(lambda v: v if isinstance(v, str) else "") if has_rat else "",
    })
    if keep_extra:
        for c in ok.columns:
            if c not in out.columns:
                out[c] = ok[c].to_numpy()
    if report is not None:
        report.update(rows=len(df), kept=len(out), dropped={r: dropped.get(r, 0) for r in REASONS if dropped.get(r)})
    return out


def load_dataset(folder: str | Path, **kw) -> dict[str, pd.DataFrame]:
    """The three splits of a dataset folder (``train/validation/test`` as parquet, jsonl or csv)."""
    folder = Path(folder)
    out = {}
    for name in ("train", "validation", "test"):
        found = [folder / f"{name}{ext}" for ext in (".parquet", ".jsonl", ".csv") if (folder / f"{name}{ext}").exists()]
        if not found:
            raise DataValidationError(f"{folder}: no {name}.parquet/.jsonl/.csv", folder)
        out[name] = load_split(found[0], **kw)
    return out
