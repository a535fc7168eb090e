"""Scaling laws of task-specific distillation: law forms, robust fits with bootstrap intervals, model choice
by held-out error, extrapolation tests, collapse points, and recommendations from the fitted laws.

Entry points: :func:`fit_table` (results table -> :class:`Fits`), :func:`fit_cached` (same, cached by
content under :func:`fit_key`), :func:`recommend`, :func:`load_table` (sweep folder or CSV/parquet -> validated table).
"""

from __future__ import annotations

import importlib

# Names are imported lazily so that ``taskdistill --help`` (which imports this package) stays fast. The
# recommender is imported from its module (``taskdistill.scaling.recommend.recommend``): a lazy name equal to a
# submodule's name would be shadowed by the submodule once anything imports it.
_LAZY = {
    "Recommendation": "recommend",
    "FitSettings": "fit", "Fits": "fit", "fit_metric": "fit", "fit_table": "fit",
    "FORMS": "laws", "UnderDetermined": "laws", "METRICS": "metrics", "MetricSpec": "metrics",
    "metric_specs": "metrics", "ResultsError": "table", "load_table": "table", "compare": "compare",
    "compare_all": "compare",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"taskdistill.scaling.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'taskdistill.scaling' has no attribute {name!r}")


def fit_key(df, settings=None, *, task=None) -> str:
    """The key of the one fit cache: a hash of the table's contents, the fit settings (their ``version``
    is ``FITS_VERSION``) and the task's content hash. Whatever is built from a fit (the report) can key on
    it too, so it is rebuilt exactly when the fit would change."""
    from taskdistill.cache import content_hash
    from taskdistill.scaling.fit import FitSettings
    from taskdistill.scaling.table import table_hash
    from taskdistill.task import load_task

    settings = settings or FitSettings()
    task_obj = load_task(task if task is not None else settings.task)
    return content_hash("fits", settings, table_hash(df), task_obj.hash)


def fit_cached(df, settings=None, *, task=None, progress: bool = False, workers: int | None = None):
    """:func:`fit_table`, reusing a previous fit of the same table with the same settings and task
    (cached under :func:`fit_key`), so ``fit``, ``recommend``, ``report`` and ``run`` on an unchanged
    sweep fit once."""
    from taskdistill.cache import atomic_write_text, stage_dir
    from taskdistill.scaling.fit import Fits, FitSettings, fit_table
    from taskdistill.scaling.table import ResultsError
    from taskdistill.task import load_task

    settings = settings or FitSettings()
    task_obj = load_task(task if task is not None else settings.task)
    path = stage_dir("fits") / f"{fit_key(df, settings, task=task_obj)}.json"
    if path.is_file():
        try:
            return Fits.load(path)
        except ResultsError:
            pass
    fits = fit_table(df, settings, task=task_obj, progress=progress, workers=workers)
    fits.save(path)
    atomic_write_text(path.with_suffix(".source"), str(df.attrs.get("source", "")) + "\n")
    return fits


__all__ = ["FORMS", "METRICS", "FitSettings", "Fits", "MetricSpec", "Recommendation", "ResultsError",
           "UnderDetermined", "compare", "compare_all", "fit_cached", "fit_key", "fit_metric", "fit_table", "load_table",
           "metric_specs"]
