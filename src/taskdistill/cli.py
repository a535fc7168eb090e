"""The one command-line entry point: ``taskdistill <command>``.

Each stage owns its commands in ``taskdistill/<stage>/cli.py`` and exposes ``register(app)``; this
module only builds the app, the global ``--quiet`` flag and ``info``. Stage modules import their
heavy dependencies inside the command functions, so ``taskdistill --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os

import typer
from typer.core import TyperGroup

from taskdistill.console import quiet, set_quiet
from taskdistill.errors import TaskdistillError, error_line

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class TaskdistillGroup(TyperGroup):
    """The one error path of every command: a ``TaskdistillError`` (bad input, a locked output folder,
    a broken checkpoint) prints one line ``error: <message>`` and exits 2; any other exception is a bug
    and propagates with its traceback (exit 1). ``TASKDISTILL_DEBUG=1`` shows user errors' tracebacks."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TaskdistillError as exc:
            if os.environ.get("TASKDISTILL_DEBUG"):
                raise
            typer.echo(error_line(exc), err=True)
            raise typer.Exit(exc.exit_code) from exc


app = typer.Typer(
    cls=TaskdistillGroup,
    help="taskdistill: prune a teacher LLM into task-specific students, distill them, evaluate them, "
    "and fit scaling laws over compression, data size and supervision.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

STAGES = ("task", "data", "teacher", "prune", "distill", "evaluate", "sweep", "scaling", "report")


@app.callback()
def main(quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print results and errors.")) -> None:
    set_quiet(quiet)


@app.command()
def info(timings: bool = typer.Option(False, "--timings", help="Also time a load of the registry teacher.")):
    """Versions, threads, device, cache folder, and which offline assets are installed."""
    from taskdistill.info import print_info

    print_info(timings=timings)


for _stage in STAGES:
    _mod = importlib.import_module(f"taskdistill.{_stage}.cli")
    _mod.register(app)


@app.command("run")
def run(
    preset: str | None = typer.Option(None, "--preset", help="tiny, quickstart (default) or paper"),
    config: str | None = typer.Option(None, "--config", "-c", help="a sweep spec YAML instead of a preset"),
    out: str | None = typer.Option(None, "--out", "-o", help="sweep folder (default runs/<name>)"),
    executor: str | None = typer.Option(None, "--executor", help="local or ray"),
    workers: int | None = typer.Option(None, "--workers", "-j"),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address"),
    demo_n: int = typer.Option(5, "--demo-headlines", help="test inputs shown with the teacher's top labels"),
    task: str | None = typer.Option(None, "--task", help="run the preset on this task instead (a built-in name or "
                                    "a task YAML); the sweep folder becomes runs/<preset>-<task>"),
    data: str | None = typer.Option(None, "--data", help="a dataset folder for --task (from `taskdistill data "
                                    "import`)"),
) -> None:
    """The main job: data -> teacher -> annotations -> iterative pruning -> distillation -> evaluation
    -> scaling fits -> report. Reruns reuse every finished stage."""
    from taskdistill.errors import InputError
    from taskdistill.pipeline import run_main

    if preset and config:
        raise InputError("--preset/--config", "pass either --preset or --config, not both")
    code = run_main(preset=preset, config=config, out=out, executor=executor, workers=workers,
                    address=address, demo_n=demo_n, quiet=quiet(), task=task, data=data)
    raise typer.Exit(code)
