"""Scaling laws of task-specific distillation: law forms, robust fits with bootstrap intervals, model choice
by held-out error, extrapolation tests, collapse points, and recommendations from the fitted laws.

Entry points: :func:`fit_table` (results table -> :class:`Fits`), :func:`fit_cached` (same, cached by
content), :func:`recommend`, :func:`load_table` (sweep folder or CSV/parquet -> validated table).
"""

from __future__ import annotations

from taskdistill.scaling.fit import FitSettings, Fits, fit_metric, fit_table
from taskdistill.scaling.laws import FORMS, UnderDetermined
from taskdistill.scaling.metrics import METRICS, MetricSpec
from taskdistill.scaling.recommend import Recommendation, recommend
from taskdistill.scaling.table import ResultsError, load_table


def fit_cached(df, settings: FitSettings | None = None, *, progress: bool = False) -> Fits:
    """:func:`fit_table`, reusing a previous fit of the same table with the same settings.

    Keyed by a hash of the table's contents and the settings, so ``fit``, ``recommend`` and ``report`` on an
    unchanged sweep fit once.
    """
    import pandas as pd

    from taskdistill.cache import atomic_write_text, content_hash, stage_dir

    settings = settings or FitSettings()
    table = pd.util.hash_pandas_object(df.reset_index(drop=True), index=True).to_numpy().tobytes()
    key = content_hash("fits", settings, list(map(str, df.columns)), table.hex())
    path = stage_dir("fits") / f"{key}.json"
    if path.is_file():
        try:
            return Fits.load(path)
        except ResultsError:
            pass
    fits = fit_table(df, settings, progress=progress)
    fits.save(path)
    atomic_write_text(path.with_suffix(".source"), str(df.attrs.get("source", "")) + "\n")
    return fits


__all__ = ["FORMS", "METRICS", "FitSettings", "Fits", "MetricSpec", "Recommendation", "ResultsError",
           "UnderDetermined", "fit_cached", "fit_metric", "fit_table", "load_table", "recommend"]
