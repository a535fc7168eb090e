"""The one command-line entry point: ``taskdistill <command>``.

Each stage owns its commands in ``taskdistill/<stage>/cli.py`` and exposes ``register(app)``; this
module only builds the app, the global ``--quiet`` flag and ``info``. Stage modules import their
heavy dependencies inside the command functions, so ``taskdistill --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os

import typer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    help="taskdistill: prune a teacher LLM into task-specific students, distill them, evaluate them, "
    "and fit scaling laws over compression, data size and supervision.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

STATE = {"quiet": False}
STAGES = ("data", "teacher", "prune", "distill", "evaluate", "sweep", "scaling", "report")


@app.callback()
def main(quiet: bool = typer.Option(False, "--quiet", "-q", help="Only print results and errors.")) -> None:
    STATE["quiet"] = quiet


def quiet() -> bool:
    return STATE["quiet"]


@app.command()
def info(timings: bool = typer.Option(False, "--timings", help="Also time a load of the registry teacher.")):
    """Versions, threads, device, cache folder, and which offline assets are installed."""
    from taskdistill.info import print_info

    print_info(timings=timings)


for _stage in STAGES:
    _mod = importlib.import_module(f"taskdistill.{_stage}.cli")
    _mod.register(app)
