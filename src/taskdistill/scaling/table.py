"""Reading and checking the results table (one row per evaluated model) that fits and reports consume.

The sweep writes the table into its SQLite store (read by the command layer, which passes a reader here:
this stage never imports the sweep); any CSV or parquet export with the same columns works too, which keeps fitting and reporting usable on results from
elsewhere. Checks here turn a bad table into an error naming the file, row and column, instead of a NaN
that silently poisons a fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from taskdistill.errors import TaskdistillError

REQUIRED = ("dataset_size", "params_ratio", "method", "supervision", "status")
OPTIONAL_DEFAULTS = {"schedule": "none", "seed": 0, "target": np.nan, "params_ratio_nonemb": np.nan}
GROUP_BY = ("supervision", "method", "schedule")
TEACHER_METHOD = "teacher"
# a pruned-but-undistilled model (a sweep's ``prune.evaluate`` rows): listed with the results, never a student
PRUNED_METHOD = "pruned"
REFERENCE_METHODS = (TEACHER_METHOD, PRUNED_METHOD)
# the columns that name one evaluated model: a second finished row with the same values is a duplicate
CELL_KEY = ("dataset_size", "target", "params_ratio", "method", "supervision", "schedule", "seed")
# valid ranges of the metrics the laws know (a value outside is a corrupt table, not a bad model)
RANGES = {"indomain.macro_f1": (0.0, 1.0), "indomain.accuracy": (0.0, 1.0), "indomain.macro_f1_coarse": (0.0, 1.0),
          "indomain.nll": (0.0, np.inf), "indomain.brier": (0.0, 2.0), "mmlu.acc": (0.0, 1.0),
          "mmlu.gold_prob": (0.0, 1.0), "mmlu.gold_margin": (-np.inf, np.inf), "mmlu.gold_ll_per_char": (-np.inf, 0.0),
          "mmlu.text_gain_frac": (-np.inf, 1.0)}


class ResultsError(TaskdistillError, ValueError):
    """A results table that cannot be fitted; the message names the source, row and column."""


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a CSV or parquet results export."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"results file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif suffix in (".csv", ".tsv"):
            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise ResultsError(f"{path}: expected a .csv, .tsv or .parquet results file, got {suffix!r}")
    except ResultsError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types; the file name is what the user needs
        raise ResultsError(f"{path}: cannot read results table: {exc}") from exc
    df.attrs["source"] = str(path)
    return df


def load_table(sweep: str | Path | None = None, results: str | Path | None = None, *,
               read_sweep=None) -> pd.DataFrame:
    """Exactly one of a sweep folder or a results file -> validated table (see :func:`validate`).

    A sweep folder is read by ``read_sweep(path) -> DataFrame`` (the command layer passes the sweep store's
    reader; this stage never imports the sweep)."""
    if (sweep is None) == (results is None):
        raise ResultsError("give exactly one of a sweep folder (SWEEP) or a results file (--results)")
    if sweep is not None:
        if not Path(sweep).is_dir():
            raise ResultsError(f"sweep folder not found: {sweep}")
        if not (Path(sweep) / "results.sqlite").is_file():
            raise ResultsError(f"{sweep}: not a sweep folder (no results.sqlite); give the folder `sweep run` or "
                               "`run` wrote, or a results export with --results")
        if read_sweep is None:
            raise ResultsError(f"cannot read sweep {sweep} here: export its results to CSV/parquet and pass "
                               "--results instead")
        df = read_sweep(Path(sweep))
        df.attrs["source"] = str(sweep)
    else:
        df = read_results(results)
    return validate(df)


def validate(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns and value types; return a copy with optional columns filled and types normalised.

    Rows whose ``status`` is not ``done`` are kept (the report counts them) but never fitted.
    """
    source = df.attrs.get("source", "results table")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ResultsError(f"{source}: missing column(s) {', '.join(missing)}; have {', '.join(map(str, df.columns))}")
    out = df.copy()
    out.attrs["source"] = source
    for col, default in OPTIONAL_DEFAULTS.items():
        if col not in out.columns:
            out[col] = default
    for col in ("method", "supervision", "schedule", "status"):
        out[col] = out[col].astype("string").fillna("none" if col != "status" else "missing").astype(str)
    done = out["status"] == "done"
    for col in ("dataset_size", "params_ratio", "seed", "target", "params_ratio_nonemb"):
        vals = pd.to_numeric(out[col], errors="coerce")
        bad = vals.isna() & out[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ResultsError(f"{source}: row {i}: column {col!r} is not a number: {out[col].iloc[i]!r}")
        out[col] = vals
    for col, lo, hi in (("dataset_size", 1, np.inf), ("params_ratio", 1e-6, 1.5)):
        bad = done & (out[col].isna() | (out[col] < lo) | (out[col] > hi))
        if col == "dataset_size":  # a pruned, undistilled model saw no training data: no size is right
            bad &= ~((out["method"] == PRUNED_METHOD) & out[col].isna())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ResultsError(f"{source}: row {i}: column {col!r} = {out[col].iloc[i]!r} is outside [{lo}, {hi}]")
    out["seed"] = out["seed"].fillna(0).astype(int)
    from taskdistill.scaling.metrics import METRIC_COLUMNS as METRICS

    # the metrics the laws know must be numbers; other indomain.*/mmlu.* columns (scoring variant, ...) are
    # kept as they are unless they happen to be numeric
    for col in [c for c in out.columns if c.startswith(("indomain.", "mmlu.")) and c not in METRICS]:
        vals = pd.to_numeric(out[col], errors="coerce")
        if not (vals.isna() & out[col].notna()).any():
            out[col] = vals.astype(float)
    for col in [c for c in out.columns if c in METRICS]:
        vals = pd.to_numeric(out[col], errors="coerce")
        bad = vals.isna() & out[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ResultsError(f"{source}: row {i}: metric {col!r} is not a number: {out[col].iloc[i]!r}")
        out[col] = vals.astype(float)
    _check_values(out, done, source, [c for c in out.columns if c in METRICS])
    if not len(out):
        raise ResultsError(f"{source}: the results table has no rows")
    if not done.any():
        raise ResultsError(f"{source}: no finished row: all {len(out)} cell(s) failed or are unfinished "
                           "(see `taskdistill sweep status` for their errors)")
    return out


def _check_values(out: pd.DataFrame, done: pd.Series, source: str, metrics: list[str]) -> None:
    """Refuse impossible values and duplicate rows; count the missing values each metric drops.

    The counts land in ``out.attrs["dropped"]`` (``{metric: {reason: n}}``) for the commands to print."""
    for col in metrics + [f"{m}_stderr" for m in metrics if f"{m}_stderr" in out.columns]:
        vals = pd.to_numeric(out[col], errors="coerce").to_numpy(float)
        lo, hi = RANGES.get(col, (0.0, np.inf) if col.endswith("_stderr") else (-np.inf, np.inf))
        bad = done.to_numpy() & np.isfinite(vals) & ((vals < lo) | (vals > hi)) | np.isinf(vals)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ResultsError(f"{source}: row {i}: {col} = {float(vals[i])!r} is outside its valid range [{lo}, {hi}]"
                               f"{'' if np.isfinite(vals[i]) else ' (not finite)'}; fix or remove the row")
    key = [c for c in CELL_KEY if c in out.columns]
    finished = out.loc[done, key].astype(str)
    dup = finished.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(done.to_numpy())[np.flatnonzero(dup.to_numpy())]
        raise ResultsError(f"{source}: rows {rows[0]} and {rows[1]} are the same model ({', '.join(key)}); each "
                           "(cell, seed) must appear once: duplicated rows would narrow every interval")
    dropped = {}
    for col in metrics:
        n = int((done & out[col].isna()).sum())
        if n:
            dropped[col] = {"missing value": n}
    out.attrs["dropped"] = dropped


BOOKKEEPING = ("created", "git_commit")  # when a row was stored and by which checkout, not what it measured


def table_hash(df: pd.DataFrame) -> str:
    """Content hash of a results table (its rows and columns, without the rows' bookkeeping: when each was
    stored and the commit of the checkout that stored it): fits record it, so fits are never shown beside a
    table they were not computed from, while a rerun that finds every node in the cache still matches them."""
    import hashlib

    table = df.drop(columns=list(BOOKKEEPING), errors="ignore").reset_index(drop=True)
    return hashlib.sha256(table.to_json(orient="split", default_handler=str).encode()).hexdigest()[:16]


def fit_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows a law is fitted to: finished students (not the teacher, not the pruned-but-undistilled
    models, not failed cells)."""
    return df[(df["status"] == "done") & ~df["method"].isin(REFERENCE_METHODS)]


def pruned_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The finished pruned-but-undistilled rows (method ``pruned``): what pruning alone costs at each ratio."""
    return df[(df["status"] == "done") & (df["method"] == PRUNED_METHOD)]


def teacher_levels(df: pd.DataFrame) -> dict[str, float]:
    """Mean of each metric over the finished teacher rows (empty dict when the table has no teacher row)."""
    t = df[(df["status"] == "done") & (df["method"] == TEACHER_METHOD)]
    cols = [c for c in df.columns if c.startswith(("indomain.", "mmlu.")) and pd.api.types.is_numeric_dtype(df[c])]
    return {c: float(t[c].mean()) for c in cols if len(t) and t[c].notna().any()}
