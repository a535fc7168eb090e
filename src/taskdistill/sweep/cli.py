"""CLI commands of the sweep stage: ``taskdistill sweep run|plan|status|export``."""

from __future__ import annotations

from pathlib import Path

import typer

sweep_app = typer.Typer(help="Run a grid of prune -> distill -> evaluate cells (resumable), plan, inspect, export.",
                        no_args_is_help=True)


@sweep_app.command("run")
def sweep_run(
    spec_path: Path = typer.Argument(..., help="sweep spec YAML (e.g. configs/quickstart.yaml)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="sweep folder (default runs/<name>)"),
    executor: str | None = typer.Option(None, "--executor", help="local or ray (default: from the spec)"),
    workers: int | None = typer.Option(None, "--workers", "-j", help="parallel cells (local processes / Ray CPUs)"),
    memory_gb: float | None = typer.Option(None, "--memory-gb", help="memory budget bounding local workers"),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address (default: start a local one)"),
    retry_failed: bool = typer.Option(True, "--retry-failed/--no-retry-failed", help="rerun cells that failed"),
    new: bool = typer.Option(False, "--new", help="if the folder holds a sweep with another spec, start a new "
                             "folder next to it (<folder>-2, -3, ...) instead of refusing"),
    stages: str = typer.Option("taskdistill.sweep.stages:RealStages", "--stages", hidden=True,
                               help="stage implementation module:Class (tests plug placeholders in here)"),
) -> None:
    """Run every cell of a sweep that is not done yet (a rerun resumes; finished stages are reused)."""
    from taskdistill.console import quiet
    from taskdistill.sweep.executors import failed_cells, run_sweep
    from taskdistill.sweep.runner import spec_difference
    from taskdistill.sweep.spec import load_spec

    spec = load_spec(spec_path)
    sweep_dir = out or Path("runs") / spec.name
    if new:
        base, i = sweep_dir, 1
        while spec_difference(spec, sweep_dir):
            i += 1
            sweep_dir = base.with_name(f"{base.name}-{i}")
        if sweep_dir != base:
            typer.echo(f"{base} holds another spec: using {sweep_dir}", err=True)
    counts = run_sweep(spec, sweep_dir, executor=executor, workers=workers, memory_gb=memory_gb,
                       address=address, stages=stages, retry_failed=retry_failed, quiet=quiet())
    from taskdistill.sweep.status import print_status

    if not quiet():
        print_status(sweep_dir, show_cells=False)
    for label, last in failed_cells(sweep_dir):
        typer.echo(f"failed: {label}: {last}  (full traceback: taskdistill sweep status {sweep_dir})", err=True)
    typer.echo(f"sweep folder: {sweep_dir}  (this run: {counts['done']} done, {counts['failed']} failed)")
    if counts["failed"]:
        raise typer.Exit(1)


@sweep_app.command("status")
def sweep_status_cmd(sweep_dir: Path = typer.Argument(..., help="sweep folder"),
                     cells: bool = typer.Option(True, "--cells/--summary", help="list every cell")) -> None:
    """Done / running / failed / pending cells and an ETA from the measured stage times."""
    from taskdistill.sweep.status import print_status

    print_status(sweep_dir, show_cells=cells)


@sweep_app.command("export")
def sweep_export(sweep_dir: Path = typer.Argument(..., help="sweep folder"),
                 out: Path = typer.Option(..., "--out", "-o", help="results.csv or results.parquet")) -> None:
    """Write the results table (one row per evaluated model) as CSV or parquet."""
    from taskdistill.checks import check_out_file
    from taskdistill.sweep.store import export_results

    check_out_file(out)
    path = export_results(sweep_dir, out)
    typer.echo(f"wrote {path}")


@sweep_app.command("plan")
def sweep_plan(spec_path: Path = typer.Argument(..., help="sweep spec YAML (e.g. configs/paper.yaml)")) -> None:
    """Validate a spec and print how many stages of each kind it needs and an estimated cost; runs nothing."""
    from taskdistill.sweep.plan import plan_sweep, print_plan
    from taskdistill.sweep.spec import load_spec

    spec = load_spec(spec_path)
    print_plan(plan_sweep(spec), str(spec_path))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.add_typer(sweep_app, name="sweep")
