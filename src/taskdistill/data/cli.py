"""CLI commands of the data stage; `register` adds them to the main app.

    taskdistill data import FILE --task TASK --map text=COL --map label=COL --out DIR [--on-bad skip]
    taskdistill data generate --task finheadlines --backend template --size 20000 --seed 0 --out DIR   (rerun = resume)
    taskdistill data validate FILE --task TASK [--on-bad skip] [--map SRC=DEST] [--out FILE.parquet]
    taskdistill data stats DIR [--task TASK]
    taskdistill data default [--task TASK]   (build or locate the task's default dataset)

Bad input (a file, a row, a task) prints one line ``error: <file/field>: <what>`` and exits 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from taskdistill.checks import check_out_file, check_out_folder
from taskdistill.console import quiet
from taskdistill.errors import InputError
from taskdistill.task import DEFAULT_TASK

data_app = typer.Typer(help="Datasets of a task: import your own file, generate, validate, statistics.",
                       no_args_is_help=True)
TASK_HELP = "Task: a built-in name (finheadlines, finheadlines-coarse) or a task YAML file."


def _parse_map(items: list[str] | None, what: str = "SRC=DEST") -> dict[str, str] | None:
    if not items:
        return None
    out = {}
    for it in items:
        if "=" not in it:
            raise InputError("--map", f"expects {what}, got {it!r}")
        src, dst = it.split("=", 1)
        out[src] = dst
    return out


def _load_task(spec: str | Path):
    from taskdistill.task import load_task

    return load_task(spec)


@data_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="Your labelled rows: .csv, .tsv, .jsonl or .parquet."),
    task: str = typer.Option(..., "--task", help=TASK_HELP),
    out: Path = typer.Option(..., "--out", help="Dataset folder to write (replaced only if it holds an earlier "
                                                "import)."),
    map_: list[str] = typer.Option(None, "--map", help="FIELD=COLUMN (repeatable): text=COL (the task's input field), "
                                                       "label=COL, optional id=COL and rationale=COL."),
    on_bad: str = typer.Option("error", "--on-bad", help="error (stop at the first bad row) | skip (drop and count)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split order."),
    val_frac: float = typer.Option(0.1, "--val-frac", help="Share of each label for validation (at least 1 row)."),
    test_frac: float = typer.Option(0.1, "--test-frac", help="Share of each label for test (at least 1 row)."),
):
    """Import a labelled file as a dataset folder of TASK: validate rows, drop exact duplicates, split
    stratified and leak-free, write train/validation/test.parquet, stats.json, task.yaml, manifest.json."""
    from taskdistill.data.importer import import_file
    from taskdistill.data.stats import stats_table

    if on_bad not in ("error", "skip"):
        raise InputError("--on-bad", f"must be error or skip, got {on_bad!r}")
    check_out_folder(out)
    t = _load_task(task)
    m = import_file(file, t, out, mapping=_parse_map(map_, "FIELD=COLUMN"), on_bad=on_bad, seed=seed,
                    val_frac=val_frac, test_frac=test_frac)
    c = m["counts"]
    typer.echo(f"{file}: {c['rows_read']} rows read, {c['kept']} kept for task {t.name} ({t.n_classes} labels)")
    for reason, n in c["bad_rows_dropped"].items():
        typer.echo(f"  dropped {n} row(s): {reason}")
    if c["duplicates_removed"]:
        typer.echo(f"  removed {c['duplicates_removed']} exact duplicate row(s)")
    if c["aliased_labels"]:
        typer.echo(f"  mapped {c['aliased_labels']} label(s) through the task's aliases")
    import json

    typer.echo(stats_table(json.loads((out / "stats.json").read_text())))
    typer.echo(f"wrote {out}/{{train,validation,test}}.parquet, stats.json, stats.png, task.yaml, manifest.json "
               f"(data hash {m['data_hash']})")


@data_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Output folder (rerunning over it resumes the run)."),
    task: str = typer.Option(DEFAULT_TASK, "--task", help=TASK_HELP + " The template backend writes finheadlines "
                                                                      "only."),
    backend: str = typer.Option(None, help="template (default) | hf | openai"),
    size: int = typer.Option(None, help="Kept rows to reach before splitting (default 20000)."),
    seed: int = typer.Option(None, help="Seed (default 0)."),
    batch_size: int = typer.Option(None, help="Rows generated per iteration (default 2000)."),
    threshold: float = typer.Option(None, help="Semantic dedup: drop when cosine >= threshold (default 0.9)."),
    dedup_mode: str = typer.Option(None, help="exact (blocked, default) | clustered (k-means partitions)."),
    config: Path | None = typer.Option(None, help="YAML with SynthConfig fields (flags given override it)."),
    test_per_class: int = typer.Option(None, help="Fixed test rows per class (default 20)."),
    val_per_class: int = typer.Option(None, help="Validation rows per class (default 10)."),
    hf_model: str = typer.Option(None, help="hf backend: load_model spec (e.g. smollm2-135m-instruct, tiny:llama)."),
    openai_base_url: str = typer.Option(None, help="openai backend: base URL (or TASKDISTILL_OPENAI_BASE_URL)."),
    openai_model: str = typer.Option(None, help="openai backend: model name (key from TASKDISTILL_OPENAI_API_KEY)."),
    multi_event: float = typer.Option(None, help="Difficulty: share of multi-event headlines."),
    distractor: float = typer.Option(None, help="Difficulty: share of near-miss distractors."),
    numeric: float = typer.Option(None, help="Difficulty: share of numbers-only forms."),
    noisy: float = typer.Option(None, help="Difficulty: share of noisy (tags, casing, typos) headlines."),
):
    """Run (or resume) the iterative pipeline and write parquet splits + stats.json + stats.png + task.yaml."""
    from taskdistill.config import load_yaml, validate
    from taskdistill.data.stats import stats_table
    from taskdistill.data.synth.pipeline import SynthConfig, generate_dataset

    check_out_folder(out)
    t = _load_task(task)
    base = load_yaml(config, SynthConfig).model_dump() if config else {}
    flags = dict(backend=backend, size=size, seed=seed, batch_size=batch_size, threshold=threshold,
                 dedup_mode=dedup_mode, test_per_class=test_per_class, val_per_class=val_per_class, hf_model=hf_model,
                 openai_base_url=openai_base_url, openai_model=openai_model)
    merged = {**base, **{k: v for k, v in flags.items() if v is not None}}
    diff = dict(merged.get("difficulty") or {})
    for k, v in dict(multi_event=multi_event, distractor=distractor, numeric=numeric, noisy=noisy).items():
        if v is not None:
            diff[k] = v
    merged["difficulty"] = diff
    cfg = validate(SynthConfig, merged, str(config) if config else "options")
    if cfg.backend == "template":
        from taskdistill.data.synth.backends import TemplateBackend

        TemplateBackend(cfg.difficulty, t)  # refuses a task the grammar cannot write, before the size check
    cfg.check_split_sizes(t)
    generate_dataset(out, cfg, t, quiet=quiet())
    import json

    typer.echo(stats_table(json.loads((out / "stats.json").read_text())))
    typer.echo(f"wrote {out}/{{train,validation,test}}.parquet, stats.json, stats.png, task.yaml")


@data_app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="A split file (.parquet, .jsonl, .csv)."),
    task: str = typer.Option(DEFAULT_TASK, "--task", help=TASK_HELP),
    on_bad: str = typer.Option("error", "--on-bad", help="error (stop at the first bad row) | skip (drop and count)."),
    map_: list[str] = typer.Option(None, "--map", help="Column rename SRC=DEST (repeatable), e.g. body=text."),
    out: Path | None = typer.Option(None, "--out", help="Write the validated rows (contract columns, renamed, bad "
                                                        "rows dropped with --on-bad skip) to this .parquet file. "
                                                        "Without it nothing is written."),
):
    """Check a split file against TASK's contract; exit code 2 on the first bad row (default)."""
    from taskdistill.data.loader import load_split

    if on_bad not in ("error", "skip"):
        raise InputError("--on-bad", f"must be error or skip, got {on_bad!r}")
    if out is not None and out.suffix.lower() != ".parquet":
        raise InputError(out, "--out must be a .parquet file")
    check_out_file(out)
    t = _load_task(task)
    report: dict = {}
    df = load_split(file, t, column_map=_parse_map(map_), on_bad=on_bad, report=report)
    typer.echo(f"{file}: {report['rows']} rows read, {len(df)} valid for task {t.name}")
    for reason, n in report.get("dropped", {}).items():
        typer.echo(f"  dropped {n} row(s): {reason}")
    if report.get("aliased"):
        typer.echo(f"  mapped {report['aliased']} label(s) through the task's aliases")
    if out is not None:
        import io

        from taskdistill.cache import atomic_write_bytes

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(out, buf.getvalue())
        typer.echo(f"wrote {out} ({len(df)} rows)")
    else:
        typer.echo("(validation only: nothing written; pass --out FILE.parquet to write the validated rows)")


@data_app.command("stats")
def stats(folder: Path = typer.Argument(..., help="Dataset folder with train/validation/test files."),
          task: str = typer.Option(None, "--task", help=TASK_HELP + " Default: the folder's task.yaml."),
          write: bool = typer.Option(False, help="(Re)write stats.json and stats.png into the folder.")):
    """Sizes, label shares, distinct-n, BoW difficulty probe (and the pipeline table if present)."""
    import json

    from taskdistill.data.loader import load_dataset
    from taskdistill.data.stats import dataset_stats, plot_stats, stats_table
    from taskdistill.data.taskfile import folder_task

    existing = folder / "stats.json"
    if existing.exists() and not write:
        typer.echo(stats_table(json.loads(existing.read_text())))
        return
    t = folder_task(folder, task)
    splits = load_dataset(folder, t, keep_extra=True)
    history = None
    if (folder / ".state").is_dir():  # a pipeline folder: keep its per-iteration table
        from taskdistill.data.synth.pipeline import load_corpus

        history = [{k: v for k, v in h.items() if k != "seconds"} for h in load_corpus(folder, t)[2]]
    prev = json.loads(existing.read_text()) if existing.exists() else {}
    s = dataset_stats(splits, t, history, extra={k: prev[k] for k in ("splits", "config", "import", "derived_from")
                                                  if k in prev})
    typer.echo(stats_table(s))
    if write:
        from taskdistill.cache import atomic_write_text

        atomic_write_text(folder / "stats.json", json.dumps(s, indent=1, sort_keys=True) + "\n")
        plot_stats(s, folder / "stats.png", t)


@data_app.command("default")
def default(name: str = typer.Argument(None, help="A generated preset (finheadlinemix-mini); default: the task's."),
            task: str = typer.Option(DEFAULT_TASK, "--task", help=TASK_HELP)):
    """Build (first call) or locate the default dataset of a task; prints its folder.

    finheadlines: finheadlinemix-mini; a derived task (finheadlines-coarse): its parent's dataset,
    relabelled."""
    from taskdistill.data.default import PRESETS, default_dataset, ensure_dataset

    if name is not None:
        if name not in PRESETS:
            raise InputError("dataset", f"unknown dataset {name!r}; known: {', '.join(PRESETS)}")
        typer.echo(str(ensure_dataset(name, quiet=quiet())))
        return
    t = _load_task(task)
    typer.echo(str(default_dataset(t, quiet=quiet())))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.add_typer(data_app, name="data")
