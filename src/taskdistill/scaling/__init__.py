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
    "metric_specs": "metrics", "ResultsError": "table", "load_table": "table", "compare": "compare",
    "compare_all": "compare",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"taskdistill.scaling.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'taskdistill.scaling' has no attribute {name!r}")


def fit_cached(df, settings=None, *, task=None, progress: bool = False):
    """:func:`fit_table`, reusing a previous fit of the same table with the same settings and task.

    Keyed by a hash of the table's contents, the settings and the task's content hash, so ``fit``,
    ``recommend`` and ``report`` on an unchanged sweep fit once.
    """
    import hashlib

    from taskdistill.cache import atomic_write_text, content_hash, stage_dir
    from taskdistill.scaling.fit import Fits, FitSettings, fit_table
    from taskdistill.scaling.table import ResultsError
    from taskdistill.task import load_task

    settings = settings or FitSettings()
    task_obj = load_task(task if task is not None else settings.task)
    table = df.drop(columns=["created"], errors="ignore").reset_index(drop=True)
    digest = hashlib.sha256(table.to_json(orient="split", default_handler=str).encode()).hexdigest()
    key = content_hash("fits", settings, digest, task_obj.hash)
    path = stage_dir("fits") / f"{key}.json"
    if path.is_file():
        try:
            return Fits.load(path)
        except ResultsError:
            pass
    fits = fit_table(df, settings, task=task_obj, progress=progress)
    fits.save(path)
    atomic_write_text(path.with_suffix(".source"), str(df.attrs.get("source", "")) + "\n")
    return fits


__all__ = ["FORMS", "METRICS", "FitSettings", "Fits", "MetricSpec", "Recommendation", "ResultsError",
           "UnderDetermined", "compare", "compare_all", "fit_cached", "fit_metric", "fit_table", "load_table",
           "metric_specs", "recommend"]
