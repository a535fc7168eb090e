"""The scaling report: figures, tables, generated findings and recommendations, as one self-contained HTML
file and a Markdown twin. Entry point: :func:`build_report`."""

from __future__ import annotations

# Bump when the report's layout or content changes, so a rerun of a finished sweep rewrites its report.
# 2: summary first (teacher, best student per ratio, transfer sets, trade-off), fit diagnostics as one table.
# 3: paper findings F1-F4, efficiency per ratio, compute spent.
REPORT_FORMAT = 3


def build_report(results_df, fits, out_dir, **kw):
    """See :func:`taskdistill.report.build.build_report` (imported lazily: matplotlib is slow to import)."""
    from taskdistill.report.build import build_report as _build

    return _build(results_df, fits, out_dir, **kw)


__all__ = ["REPORT_FORMAT", "build_report"]
