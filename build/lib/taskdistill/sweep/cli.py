"""CLI commands of the sweep stage: ``taskdistill sweep run|plan|status|export``."""

from __future__ import annotations

from pathlib import Path

import typer

sweep_app = typer.Typer(help="Run a grid of prune -> distill -> evaluate cells (resumable), plan, inspect, export.",
                        no_args_is_help=True)


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(2)


@sweep_app.command("run")
def sweep_run(
    spec_path: Path = typer.Argument(..., help="sweep spec YAML (e.g. configs/quickstart.yaml)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="sweep folder (default runs/<name>)"),
    executor: str | None = typer.Option(None, "--executor", help="local or ray (default: from the spec)"),
    workers: int | None = typer.Option(None, "--workers", "-j", help="parallel cells (local processes / Ray CPUs)"),
    memory_gb: float | None = typer.Option(None, "--memory-gb", help="memory budget bounding local workers"),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (default: start a local one)"),
    retry_failed: bool = typer.Option(True, "--retry-failed/--no-retry-failed", help="rerun cells that failed"),
    stages: str = typer.Option("taskdistill.sweep.stages:RealStages", "--stages", hidden=True,
                               help="stage implementation module:Class (tests plug placeholders in here)"),
) -> None:
    """Run every cell of a sweep that is not done yet (a rerun resumes; finished stages are reused)."""
    from taskdistill.cli import quiet
    from taskdistill.config import ConfigError
    from taskdistill.sweep.executors import run_sweep
    from taskdistill.sweep.spec import load_spec

    try:
        spec = load_spec(spec_path)
    except ConfigError as exc:
        _fail(str(exc))
    sweep_dir = out or Path("runs") / spec.name
    try:
        counts = run_sweep(spec, sweep_dir, executor=executor, workers=workers, memory_gb=memory_gb,
                           address=address, stages=stages, retry_failed=retry_failed, quiet=quiet())
    except ConfigError as exc:
        _fail(str(exc))
    from taskdistill.sweep.status import print_status

    if not quiet():
        print_status(sweep_dir, show_cells=False)
    typer.echo(f"sweep folder: {sweep_dir}  (this run: {counts['done']} done, {counts['failed']} failed)")
    if counts["failed"]:
        raise typer.Exit(1)


@sweep_app.command("status")
def sweep_status_cmd(sweep_dir: Path = typer.Argument(..., help="sweep folder"),
                     cells: bool = typer.Option(True, "--cells/--summary", help="list every cell")) -> None:
    """Done / running / failed / pending cells and an ETA from the measured stage times."""
    from taskdistill.sweep.status import print_status
    from taskdistill.sweep.store import StoreError

    try:
        print_status(sweep_dir, show_cells=cells)
    except StoreError as exc:
        _fail(str(exc))


@sweep_app.command("export")
def sweep_export(sweep_dir: Path = typer.Argument(..., help="sweep folder"),
                 out: Path = typer.Option(..., "--out", "-o", help="results.csv or results.parquet")) -> None:
    """Write the results table (one row per evaluated model) as CSV or parquet."""
    from taskdistill.sweep.store import StoreError, export_results

    try:
        path = export_results(sweep_dir, out)
    except (StoreError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"wrote {path}")


@sweep_app.command("plan")
def sweep_plan(spec_path: Path = typer.Argument(..., help="sweep spec YAML (e.g. configs/paper.yaml)")) -> None:
    """Validate a spec and print how many stages of each kind it needs and an estimated cost; runs nothing."""
    from taskdistill.config import ConfigError
    from taskdistill.sweep.plan import plan_sweep, print_plan
    from taskdistill.sweep.spec import load_spec

    try:
        spec = load_spec(spec_path)
    except ConfigError as exc:
        _fail(str(exc))
    print_plan(plan_sweep(spec), str(spec_path))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.add_typer(sweep_app, name="sweep")
