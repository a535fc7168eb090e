"""CLI commands of the sweep stage: ``taskdistill sweep run|plan|status|export|efficiency``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from taskdistill import options as O

sweep_app = typer.Typer(help="Run a grid of prune -> distill -> evaluate cells (resumable), plan, inspect, export.",
                        no_args_is_help=True)


def spec_source(spec: str) -> tuple[str | None, Path | None]:
    """``(preset, None)`` for a preset name, ``(None, path)`` for a spec YAML file; anything else is an
    input error naming the argument."""
    from taskdistill.errors import InputError
    from taskdistill.sweep.spec import PRESETS

    path = Path(spec).expanduser()
    if path.is_file():
        return None, path
    if spec in PRESETS:
        return spec, None
    raise InputError("SPEC", f"{spec!r} is neither a preset ({', '.join(PRESETS)}) nor a spec YAML file")


def spec_file(spec: str) -> Path:
    """The YAML file behind SPEC (a preset's file inside the package, or the given path)."""
    from taskdistill.sweep.spec import preset_path

    preset, path = spec_source(spec)
    return path if path is not None else preset_path(preset)


@sweep_app.command("run")
def sweep_run(
    spec: O.Spec,
    out: O.Out = None,
    executor: O.ExecutorOpt = None,
    workers: O.Workers = None,
    memory_gb: Annotated[float | None, typer.Option(
        "--memory-gb", help="Memory budget (GB) bounding the local workers (default: the spec's).")] = None,
    address: O.Address = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed/--no-retry-failed",
                                               help="Rerun cells that failed before.")] = True,
    new: Annotated[bool, typer.Option("--new", help="If OUT holds a sweep of another spec, start a new folder "
                                      "next to it (<folder>-2, -3, ...) instead of refusing.")] = False,
    stages: Annotated[str, typer.Option("--stages", hidden=True, help="Stage implementation module:Class "
                                        "(tests plug placeholders in here).")] = "taskdistill.sweep.stages:RealStages",
    device: O.Device = O.DEVICE,
) -> None:
    """Run every cell of a sweep that is not done yet (a rerun resumes; finished stages are reused).
    OUT is the sweep folder (default runs/<name>)."""
    from taskdistill.console import quiet
    from taskdistill.sweep.executors import failed_cells, run_sweep
    from taskdistill.sweep.runner import spec_difference
    from taskdistill.sweep.spec import load_spec

    executor = O.value(executor)
    spec_path = spec_file(spec)
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
                       address=address, stages=stages, retry_failed=retry_failed, quiet=quiet(), device=device)
    from taskdistill.sweep.status import print_status

    if not quiet():
        print_status(sweep_dir, show_cells=False)
    for label, last in failed_cells(sweep_dir):
        typer.echo(f"failed: {label}: {last}  (full traceback: taskdistill sweep status {sweep_dir})", err=True)
    typer.echo(f"sweep folder: {sweep_dir}  (this run: {counts['done']} done, {counts['failed']} failed)")
    if counts["failed"]:
        raise typer.Exit(1)


@sweep_app.command("status")
def sweep_status_cmd(sweep_dir: O.SweepDir,
                     cells: Annotated[bool, typer.Option("--cells/--summary", help="List every cell, or only the "
                                                         "summary.")] = True) -> None:
    """Done / running / failed / pending cells and an ETA from the measured stage times."""
    from taskdistill.sweep.status import print_status

    print_status(sweep_dir, show_cells=cells)


@sweep_app.command("export")
def sweep_export(sweep_dir: O.SweepDir, out: O.OutRequired) -> None:
    """Write the results table (one row per evaluated model) to OUT: results.csv or results.parquet, and
    beside it compute.json: the seconds, node counts and cache reuses per stage; transfer_sets.json: the transfer
    sets and their tasks; efficiency.json when `sweep efficiency` measured the models (all read by the report)."""
    from taskdistill.checks import check_out_file
    from taskdistill.sweep.compute import COMPUTE_FILE, write_compute
    from taskdistill.sweep.store import export_results

    check_out_file(out)
    path = export_results(sweep_dir, out)
    typer.echo(f"wrote {path}")
    comp_path = write_compute(sweep_dir, Path(out).with_name(COMPUTE_FILE))
    typer.echo(f"wrote {comp_path}")
    comp = json.loads(comp_path.read_text())
    t, span = comp["total"], comp.get("wall_span_seconds")
    typer.echo(f"this sweep computed {t['computed']} stage node(s) in {t['seconds']:,.0f} s of node wall time; "
               f"{t['from_cache']} of the {t['nodes']} distinct nodes its finished cells used were already in the "
               "cache" + (f"; first start to last finish {span:,.0f} s" if span else ""))
    from taskdistill.sweep.efficiency import copy_efficiency

    copied = copy_efficiency(sweep_dir, Path(out).parent)
    if copied is not None:
        typer.echo(f"wrote {copied}")
    from taskdistill.report.transfer import TRANSFER_FILE
    from taskdistill.sweep.transfer import write_transfer

    sets = write_transfer(sweep_dir, Path(out).with_name(TRANSFER_FILE))
    if sets is not None:
        typer.echo(f"wrote {sets}")


@sweep_app.command("efficiency")
def sweep_efficiency(
    sweep_dir: O.SweepDir,
    inputs: Annotated[int, typer.Option("--inputs", help="Test inputs timed per model.")] = 64,
    per_target: Annotated[int, typer.Option("--per-target", help="Students measured per target ratio (one per "
                                            "schedule first).")] = 2,
    threads: O.Threads = 2,
) -> None:
    """Measure the teacher's and the students' size, latency and throughput again, one model at a time (run it
    on a quiet machine): writes SWEEP/efficiency.json, which `sweep export` copies beside the table and the
    report's efficiency table then uses."""
    from rich.console import Console

    from taskdistill.checks import check_range
    from taskdistill.console import quiet
    from taskdistill.sweep.efficiency import EFFICIENCY_FILE, measure_sweep

    check_range("--inputs", inputs, min=1)
    check_range("--per-target", per_target, min=1)
    check_range("--threads", threads, min=1)
    out = measure_sweep(sweep_dir, limit=inputs, per_target=per_target, threads=threads,
                        console=Console(stderr=True, quiet=quiet()))
    m = out["machine"]
    typer.echo(f"measured {len(out['models'])} model(s) ({len(out['skipped'])} skipped) on {m['cpu']}, "
               f"{m['torch_threads']} thread(s), load average {m['load_before'][0]:.2f} -> {m['load_after'][0]:.2f}")
    typer.echo(f"wrote {Path(sweep_dir) / EFFICIENCY_FILE}")


@sweep_app.command("plan")
def sweep_plan(spec: O.Spec) -> None:
    """Validate a spec and print how many stages of each kind it needs and an estimated cost; runs nothing."""
    from taskdistill.sweep.plan import plan_sweep, print_plan
    from taskdistill.sweep.spec import load_spec

    spec_path = spec_file(spec)
    print_plan(plan_sweep(load_spec(spec_path)), str(spec_path))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.add_typer(sweep_app, name="sweep")
