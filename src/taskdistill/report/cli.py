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
                   task: str = typer.Option("finheadlines", "--task", help="Task (built-in name or YAML path).")):
        """Fit the laws and write report.html (self-contained) + report.md with figures and recommendations."""
        from rich.console import Console

        from taskdistill.cli import quiet
        from taskdistill.report import build_report
        from taskdistill.scaling import Fits, FitSettings, fit_cached
        from taskdistill.scaling.cli import read_sweep
        from taskdistill.scaling.table import ResultsError, load_table

        try:
            df = load_table(sweep=sweep_dir, results=results, read_sweep=read_sweep)
        except ResultsError as exc:
            raise typer.BadParameter(str(exc)) from exc
        fits, err = None, None
        try:
            fits = Fits.load(fits_path) if fits_path else fit_cached(df, FitSettings(n_boot=n_boot, seed=seed, task=task),
                                                                      progress=not quiet())
        except ResultsError as exc:
            err = str(exc)
        out = out or ((sweep_dir / "report") if sweep_dir else Path("report"))
        html_path, md_path = build_report(df, fits, out, fit_error=err, task=task)
        c = Console()
        if err:
            c.print(f"[yellow]no laws fitted:[/] {err}")
        c.print(f"report: {html_path}\nmarkdown: {md_path}")
