"""The one command-line entry point: ``taskdistill <command>``.

Each stage owns its commands in ``taskdistill/<stage>/cli.py`` and exposes ``register(app)``; this
module only builds the app, the global ``--quiet`` flag and ``info``. Stage modules import their
heavy dependencies inside the command functions, so ``taskdistill --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
from typing import Annotated

import typer
from typer.core import TyperGroup, _click  # typer's own copy of click (its exceptions)

from taskdistill import options as O
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
        except _click.exceptions.UsageError as exc:  # a bad flag or value: the same one line, exit 2
            if type(exc).__name__ == "NoArgsIsHelpError" or os.environ.get("TASKDISTILL_DEBUG"):
                raise
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            typer.echo(f"error: {where}: {exc.format_message()} (see `{where} --help`)", err=True)
            raise typer.Exit(2) from exc
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
    spec: Annotated[str, typer.Argument(help=O.SPEC_HELP, metavar="SPEC")] = "quickstart",
    out: O.Out = None,
    executor: O.ExecutorOpt = None,
    workers: O.Workers = None,
    address: O.Address = None,
    demo_n: Annotated[int, typer.Option("--demo-headlines", help="Test inputs shown with the teacher's top "
                                        "labels (0: none).")] = 5,
    task: O.Task = None,
    data: O.Data = None,
    device: O.Device = O.DEVICE,
) -> None:
    """The main job: data -> teacher -> annotations -> iterative pruning -> distillation -> evaluation
    -> scaling fits -> report, for SPEC (default quickstart). OUT is the sweep folder (default
    runs/<name>; with --task, runs/<name>-<task>). Reruns reuse every finished stage."""
    from taskdistill.pipeline import run_main
    from taskdistill.sweep.cli import spec_source

    preset, config = spec_source(spec)
    code = run_main(preset=preset, config=config, out=out, executor=O.value(executor), workers=workers,
                    address=address, demo_n=demo_n, quiet=quiet(), task=task,
                    data=str(data) if data is not None else None, device=device)
    raise typer.Exit(code)
