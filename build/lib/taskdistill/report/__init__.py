"""The scaling report: figures, tables, generated findings and recommendations, as one self-contained HTML
file and a Markdown twin. Entry point: :func:`build_report`."""

from __future__ import annotations


def build_report(results_df, fits, out_dir, **kw):
    """See :func:`taskdistill.report.build.build_report` (imported lazily: matplotlib is slow to import)."""
    from taskdistill.report.build import build_report as _build

    return _build(results_df, fits, out_dir, **kw)


__all__ = ["build_report"]
