"""The command line's shared vocabulary: one definition per option, used by every command.

A concept has one flag, one short form, one type, one default and one help text wherever it appears
(``tests/test_cli_help.py`` checks this over the whole app). Commands write ``seed: Seed = None``;
the alias carries the flag and the help, the signature the default. Choices are enums. Options
whose default comes from a config (``--config``) default to ``None`` and say so in their help.

This module imports only typer and the standard library, so ``taskdistill --help`` stays fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

# ---- choices ------------------------------------------------------------------------------------


class TrainMethod(StrEnum):
    logit = "logit"
    lora = "lora"


class Supervision(StrEnum):
    label = "label"
    cot = "cot"
    blended = "blended"
    sft = "sft"


class KD(StrEnum):
    forward = "forward"
    reverse = "reverse"
    jsd = "jsd"


class Fmt(StrEnum):
    label = "label"
    cot = "cot"


class Scoring(StrEnum):
    cloze = "cloze"
    letter = "letter"


class Importance(StrEnum):
    activation = "activation"
    magnitude = "magnitude"


class LayerScore(StrEnum):
    block_influence = "block_influence"
    skip_loss = "skip_loss"


class Strategy(StrEnum):
    combined = "combined"
    width = "width"
    depth = "depth"


class OnBad(StrEnum):
    error = "error"
    skip = "skip"


class GenBackend(StrEnum):
    template = "template"
    hf = "hf"
    openai = "openai"


class DedupMode(StrEnum):
    exact = "exact"
    clustered = "clustered"


class TraceBackend(StrEnum):
    local = "local"
    openai = "openai"


class Policy(StrEnum):
    keep = "keep"
    drop = "drop"
    relabel = "relabel"


class Executor(StrEnum):
    local = "local"
    ray = "ray"


def value(choice):
    """The plain string of an enum choice (``None`` stays ``None``), for code below the CLI."""
    return None if choice is None else getattr(choice, "value", choice)


# ---- one default per concept ---------------------------------------------------------------------

MAX_NEW_TOKENS = 96  # a generated reasoning trace, in `teacher annotate` and `eval --mode cot`
THREADS = 2
N_BOOT = 100

# ---- positional arguments ------------------------------------------------------------------------

SPEC_HELP = "A preset (tiny, quickstart, paper, study) or a sweep spec YAML file."
SWEEP_HELP = "Sweep folder (as `taskdistill run` / `sweep run` write it)."
Spec = Annotated[str, typer.Argument(help=SPEC_HELP, metavar="SPEC")]
SweepDir = Annotated[Path, typer.Argument(help=SWEEP_HELP, metavar="SWEEP")]
SweepDirOpt = Annotated[Path | None, typer.Argument(help=SWEEP_HELP + " Or pass --results.", metavar="SWEEP")]

# ---- options shared by several commands ----------------------------------------------------------

TASK_HELP = ("Task: a built-in name (finheadlines, finheadlines-coarse) or a task YAML file. Default: the task "
             "the inputs record (dataset folder, teacher, annotations, model or sweep), else finheadlines.")
Task = Annotated[str | None, typer.Option("--task", help=TASK_HELP)]
TaskRequired = Annotated[str, typer.Option("--task", help=TASK_HELP)]

DATA_HELP = ("Dataset folder (train/validation/test.parquet, as `data import` or `data generate` write it); "
             "distill and eval also take one split file.")
Data = Annotated[Path | None, typer.Option("--data", help=DATA_HELP)]
DataRequired = Annotated[Path, typer.Option("--data", help=DATA_HELP)]

OUT_HELP = "Where to write: the output folder or file described above."
Out = Annotated[Path | None, typer.Option("--out", "-o", help=OUT_HELP)]
OutRequired = Annotated[Path, typer.Option("--out", "-o", help=OUT_HELP)]

Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output (--out).")]

Config = Annotated[Path | None, typer.Option(
    "--config", help="YAML file with this command's config fields. Options given here override it; an option "
    "left out takes the config's value, else the built-in default.")]

Model = Annotated[str, typer.Option(
    "--model", "-m", help="Model spec: a checkpoint folder, a registry name (e.g. smollm2-135m-instruct) or "
    "tiny:<arch> (a tiny random model).")]
ModelOpt = Annotated[str | None, Model.__metadata__[0]]

OpenAIModel = Annotated[str | None, typer.Option(
    "--openai-model", help="Model name on the OpenAI-compatible server (the API key is read from the "
    "environment variable OPENAI_API_KEY).")]
OpenAIBaseURL = Annotated[str | None, typer.Option(
    "--openai-base-url", help="Base URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1.")]

Seed = Annotated[int | None, typer.Option("--seed", help="Random seed (default: the config's, else 0).")]
Steps = Annotated[int | None, typer.Option("--steps", help="Optimizer steps (default: the config's).")]
LR = Annotated[float | None, typer.Option("--lr", help="Peak learning rate (default: the config's).")]
Method = Annotated[TrainMethod | None, typer.Option(
    "--method", help="Training mode: logit (every weight trained, a full fine-tune) or lora (low-rank adapters "
    "only). Default: the config's (logit).")]
BatchSize = Annotated[int | None, typer.Option(
    "--batch-size", help="Examples per model batch (default: the config's, else 8; annotate and eval: 16).")]
MaxLength = Annotated[int | None, typer.Option(
    "--max-length", help="Token cap per example, prompt + target (default: the config's, else 128; annotate: "
    "192, prune: 64).")]
Limit = Annotated[int | None, typer.Option("--limit", help="Use a seeded random subset of N rows (default: all).")]
EvalLimit = Annotated[int | None, typer.Option(
    "--eval-limit", help="Score at most N held-out rows (default: the config's, else all; distill: 64).")]
Threads = Annotated[int, typer.Option("--threads", help="torch intra-op threads for this command.")]
Device = Annotated[str | None, typer.Option(
    "--device", help="Where the models run: auto (the GPU when torch sees one, else the CPU), cpu, cuda or "
    "cuda:N (default: a sweep spec's execution.device, else auto).")]
DEVICE = None
MaxNewTokens = Annotated[int, typer.Option(
    "--max-new-tokens", help="Cap on the tokens of a generated reasoning trace.")]
FmtOpt = Annotated[Fmt | None, typer.Option(
    "--fmt", help="Prompt format: label (answer only) or cot (reasoning trace, then answer). Default: chosen "
    "from the other inputs, as described above.")]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
OnBadOpt = Annotated[OnBad, typer.Option(
    "--on-bad", help="A bad row: error (stop at the first one, exit 2) or skip (drop it and count it).")]
Map = Annotated[list[str] | None, typer.Option(
    "--map", help="FIELD=COLUMN (repeatable): take FIELD from the file's COLUMN. Fields: text (the task's input "
    "field), label, id, rationale.")]

Results = Annotated[Path | None, typer.Option(
    "--results", help="Results table (.csv or .parquet, one row per evaluated model) instead of a sweep folder.")]
Fits = Annotated[Path | None, typer.Option(
    "--fits", help="Use saved fits (JSON, or .json.gz, from `taskdistill fit --out`) instead of fitting.")]
NBoot = Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples per fit (0: no intervals).")]

ExecutorOpt = Annotated[Executor | None, typer.Option(
    "--executor", help="local (processes on this machine) or ray (default: the spec's).")]
Workers = Annotated[int | None, typer.Option(
    "--workers", "-j", help="Parallel cells: local processes or Ray CPUs (default: the spec's).")]
Address = Annotated[str | None, typer.Option(
    "--address", help="Ray cluster address (default: start a local Ray).")]
