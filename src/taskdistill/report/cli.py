"""CLI commands of the report stage: ``taskdistill report``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""

    @app.command("report")
    def report_cmd(sweep_dir: Path | None = typer.Argument(None, help="Sweep folder (results from its store)."),
                   results: Path | None = typer.Option(None, "--results", help="Results table (.csv/.parquet)."),
                   out: Path | None = typer.Option(None, "--out", help="Output folder (default: <sweep>/report "
                                                   "or ./report)."),
                   fits_path: Path | None = typer.Option(None, "--fits", help="Use a saved fits JSON."),
                   n_boot: int = typer.Option(100, "--n-boot", help="Bootstrap resamples per fit."),
                   seed: int = typer.Option(0, "--seed"),
                   task: str | None = typer.Option(None, "--task", help="Task (built-in name or YAML path). "
                                                   "Default: the sweep folder's task.yaml, else finheadlines.")):
        """Fit the laws and write report.html (self-contained) + report.md with figures and recommendations."""
        from rich.console import Console

        from taskdistill.console import quiet
        from taskdistill.report import build_report
        from taskdistill.scaling.cli import fits_for, load, resolve_task
        from taskdistill.scaling.table import ResultsError

        task_obj = resolve_task(task, sweep_dir)
        df = load(sweep_dir, results)
        fits, err = None, None
        try:
            fits = fits_for(df, fits_path, n_boot, seed, progress=not quiet(), task=task_obj)
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
