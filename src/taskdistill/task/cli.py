"""``taskdistill task show|validate|init``: look at, check and start a task definition.

    taskdistill task show finheadlines            name, hash, input field, labels with groups, chance levels
    taskdistill task validate my_task.yaml        exit 2 with one line naming file and field on error
    taskdistill task init --labels a,b,c --name my-task --out my_task.yaml
    taskdistill task init --labels-from rows.csv --label-column label --name my-task --out my_task.yaml

Errors print one line ``error: <file/field>: <what>`` and exit with code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from taskdistill import options as O

task_app = typer.Typer(help="Tasks: the labels, instructions and input field a teacher is distilled for.",
                       no_args_is_help=True)


def _fail(msg: str) -> None:
    """A bad task input: one line ``error: <msg>``, exit code 2 (through the app's one error path)."""
    from taskdistill.task import TaskError

    raise TaskError(msg)


def _load(spec: str):
    from taskdistill.task import load_task

    return load_task(spec)


@task_app.command("show")
def show(spec: Annotated[str, typer.Argument(help="A built-in task name (finheadlines, finheadlines-coarse) or a "
                                             "task YAML file.", metavar="TASK")],
         as_json: O.Json = False):
    """Summary of a task: name, hash, input field, labels (with groups) and chance levels."""
    t = _load(spec)
    d = t.describe()
    if as_json:
        d["labels"] = [{"answer": lab.answer, "group": lab.group, "priority": lab.priority} for lab in t.labels]
        typer.echo(json.dumps(d, indent=1))
        return
    typer.echo(f"task {t.name}  (hash {t.hash})")
    if t.description:
        typer.echo(f"  {t.description}")
    typer.echo(f"input field: {t.input_field}")
    typer.echo(f"answer format: {t.answer_format}")
    if t.derive:
        typer.echo(f"derived from: {t.derive.task} (each label := its {t.derive.map})")
    groups = f" in {len(t.group_names)} groups" if t.has_groups else " (no groups)"
    typer.echo(f"labels: {t.n_classes}{groups}")
    width = max(len(a) for a in t.label_names)
    for i, lab in enumerate(t.labels):
        extra = f"  [{lab.group}]" if lab.group is not None else ""
        prio = f"  priority {lab.priority}" if lab.priority is not None else ""
        typer.echo(f"  {i:>3}  {lab.answer:<{width}}{extra}{prio}")
    if t.aliases:
        typer.echo("aliases: " + ", ".join(f"{k!r} -> {v!r}" for k, v in t.aliases.items()))
    for level, c in d["chance"].items():
        typer.echo(f"chance ({level} level): accuracy {c['accuracy']:.4f}, macro-F1 {c['macro_f1']:.4f}, "
                   f"NLL {c['nll']:.4f}, Brier {c['brier']:.4f}")


@task_app.command("validate")
def validate(file: Annotated[Path, typer.Argument(help="A task YAML file.")]):
    """Check a task YAML file; exit code 2 with one line naming the file and field when it is invalid."""
    if not file.is_file():
        _fail(f"{file}: no such file")
    t = _load(str(file))
    groups = f", {len(t.group_names)} groups" if t.has_groups else ""
    typer.echo(f"ok: {file}: task {t.name} (hash {t.hash}), {t.n_classes} labels{groups}, input field "
               f"{t.input_field!r}")


def _labels_from(path: Path, column: str) -> list[str]:
    """Distinct non-empty values of ``column`` in a CSV/TSV/JSONL/parquet file, sorted."""
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = pd.read_parquet(path, columns=None)
        elif suffix in (".jsonl", ".ndjson", ".json"):
            df = pd.read_json(path, lines=True, dtype=False)
        elif suffix in (".csv", ".tsv"):
            df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=object, keep_default_na=False)
        else:
            _fail(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv, .jsonl or .parquet")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        _fail(f"{path}: cannot read: {(str(exc).splitlines() or [type(exc).__name__])[0]}")
    if column not in df.columns:
        _fail(f"{path}: field '{column}': no such column; file has {[str(c) for c in df.columns]} "
              "(pass --label-column)")
    values = [v for v in df[column].tolist() if isinstance(v, str) and v.strip()]
    if not values:
        _fail(f"{path}: field '{column}': no text labels found")
    return sorted(set(values))


@task_app.command("init")
def init(
    name: Annotated[str, typer.Option("--name", help="Task name: lowercase letters, digits, '.', '_' or '-'.")],
    out: O.OutRequired,
    labels: Annotated[str | None, typer.Option("--labels", help="Comma-separated labels, in class order.")] = None,
    labels_from: Annotated[Path | None, typer.Option(
        "--labels-from", help="Take the labels from a data file (CSV, JSONL, parquet): its distinct values, "
        "sorted.")] = None,
    label_column: Annotated[str, typer.Option(
        "--label-column", help="Column of --labels-from holding the labels.")] = "label",
    input_field: Annotated[str, typer.Option(
        "--input-field", help="Name of the field holding the text to classify.")] = "text",
    overwrite: O.Overwrite = False,
):
    """Write a commented task YAML (OUT) for a list of labels, ready to edit (definitions, groups,
    instructions)."""
    from taskdistill.cache import atomic_write_text
    from taskdistill.task import init_yaml

    if (labels is None) == (labels_from is None):
        _fail("give exactly one of --labels a,b,c or --labels-from FILE")
    if labels is not None:
        names = [s.strip() for s in labels.split(",") if s.strip()]
    else:
        if not labels_from.is_file():
            _fail(f"{labels_from}: no such file")
        names = _labels_from(labels_from, label_column)
    if out.is_dir():
        _fail(f"{out}: is a folder; --out names the task YAML file to write")
    if out.exists() and not overwrite:
        _fail(f"{out}: exists; pass --overwrite to replace it")
    text = init_yaml(name, names, input_field=input_field)
    atomic_write_text(out, text)
    typer.echo(f"wrote {out}: task {name}, {len(names)} labels; edit the definitions, then run "
               f"`taskdistill task validate {out}`")


def register(app: typer.Typer) -> None:
    """Add the ``task`` commands to ``app``."""
    app.add_typer(task_app, name="task")
