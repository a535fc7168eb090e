"""CLI commands of the report stage: ``taskdistill report``."""

from __future__ import annotations

from pathlib import Path

import typer

from taskdistill import options as O


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""

    @app.command("report")
    def report_cmd(sweep_dir: O.SweepDirOpt = None, results: O.Results = None, out: O.Out = None,
                   fits_path: O.Fits = None, n_boot: O.NBoot = O.N_BOOT, seed: O.Seed = None,
                   task: O.Task = None):
        """Fit the laws and write report.html (self-contained) + report.md with figures and recommendations.
        OUT: the report folder (default: SWEEP/report, or ./report with --results)."""
        from rich.console import Console

        from taskdistill.console import quiet
        from taskdistill.report import build_report
        from taskdistill.scaling.cli import fits_for, load, resolve_task
        from taskdistill.scaling.table import ResultsError

        task_obj = resolve_task(task, sweep_dir)
        df = load(sweep_dir, results)
        if sweep_dir is not None:  # the compute the sweep spent, from its store (with --results: compute.json)
            from taskdistill.sweep.compute import compute_summary

            df.attrs["compute"] = compute_summary(sweep_dir)
        fits, err = None, None
        try:
            fits = fits_for(df, fits_path, n_boot, seed or 0, progress=not quiet(), task=task_obj)
        except ResultsError as exc:
            if fits_path is not None:  # saved fits that do not belong to this table: refuse, never show them
                raise
            err = str(exc)
        out = out or ((sweep_dir / "report") if sweep_dir else Path("report"))
        html_path, md_path = build_report(df, fits, out, fit_error=err, task=task_obj)
        c = Console()
        if err:
            c.print(f"[yellow]no laws fitted:[/] {err}")
        c.print(f"report: {html_path}\nmarkdown: {md_path}")
