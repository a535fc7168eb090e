"""Scaling laws of task-specific distillation: law forms, robust fits with bootstrap intervals, model choice
by held-out error, extrapolation tests, collapse points, and recommendations from the fitted laws.

Entry points: :func:`fit_table` (results table -> :class:`Fits`), :func:`fit_cached` (same, cached by
content), :func:`recommend`, :func:`load_table` (sweep folder or CSV/parquet -> validated table).
"""

from __future__ import annotations

import importlib

# ``recommend`` is imported eagerly (a light module): a lazily resolved name equal to a submodule's name would
# be shadowed by the submodule once anything imports ``taskdistill.scaling.recommend``.
from taskdistill.scaling.recommend import Recommendation, recommend  # noqa: E402

# The rest is imported lazily so that ``taskdistill --help`` (which imports this package) stays fast.
_LAZY = {
    "FitSettings": "fit", "Fits": "fit", "fit_metric": "fit", "fit_table": "fit",
    "FORMS": "laws", "UnderDetermined": "laws", "METRICS": "metrics", "MetricSpec": "metrics",
    "ResultsError": "table", "load_table": "table",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"taskdistill.scaling.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'taskdistill.scaling' has no attribute {name!r}")


def fit_cached(df, settings=None, *, progress: bool = False):
    """:func:`fit_table`, reusing a previous fit of the same table with the same settings.

    Keyed by a hash of the table's contents and the settings, so ``fit``, ``recommend`` and ``report`` on an
    unchanged sweep fit once.
    """
    import hashlib

    from taskdistill.cache import atomic_write_text, content_hash, stage_dir
    from taskdistill.scaling.fit import Fits, FitSettings, fit_table
    from taskdistill.scaling.table import ResultsError

    settings = settings or FitSettings()
    table = df.drop(columns=["created"], errors="ignore").reset_index(drop=True)
    digest = hashlib.sha256(table.to_json(orient="split", default_handler=str).encode()).hexdigest()
    key = content_hash("fits", settings, digest)
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
