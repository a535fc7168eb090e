"""CLI commands of the data stage; `register` adds them to the main app.

    taskdistill data import FILE --task TASK --map text=COL --map label=COL --out DIR [--on-bad skip]
    taskdistill data generate --task finheadlines --backend template --size 20000 --seed 0 --out DIR   (rerun = resume)
    taskdistill data validate FILE --task TASK [--on-bad skip] [--map FIELD=COLUMN] [--out FILE.parquet]
    taskdistill data stats DIR [--task TASK]
    taskdistill data default [--task TASK]   (build or locate the task's default dataset)

Bad input (a file, a row, a task) prints one line ``error: <file/field>: <what>`` and exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskdistill import options as O
from taskdistill.checks import check_out_file, check_out_folder
from taskdistill.console import quiet
from taskdistill.errors import InputError
from taskdistill.task import DEFAULT_TASK

data_app = typer.Typer(help="Datasets of a task: import your own file, generate, validate, statistics.",
                       no_args_is_help=True)


def _parse_map(items: list[str] | None, what: str = "FIELD=COLUMN") -> dict[str, str] | None:
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
    file: Annotated[Path, typer.Argument(help="Your labelled rows: .csv, .tsv, .jsonl or .parquet.")],
    task: O.TaskRequired,
    out: O.OutRequired,
    map_: O.Map = None,
    on_bad: O.OnBadOpt = O.OnBad.error,
    seed: O.Seed = None,
    val_frac: Annotated[float, typer.Option(
        "--val-frac", help="Share of each label for validation (at least 1 row).")] = 0.1,
    test_frac: Annotated[float, typer.Option(
        "--test-frac", help="Share of each label for test (at least 1 row).")] = 0.1,
):
    """Import a labelled file as a dataset folder of TASK: validate rows, drop exact duplicates, split
    stratified and leak-free, write train/validation/test.parquet, stats.json, task.yaml, manifest.json
    into the dataset folder OUT (replaced only if it holds an earlier import)."""
    from taskdistill.data.importer import import_file
    from taskdistill.data.stats import stats_table

    check_out_folder(out)
    t = _load_task(task)
    m = import_file(file, t, out, mapping=_parse_map(map_), on_bad=O.value(on_bad), seed=seed or 0,
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
    out: O.OutRequired,
    task: O.Task = None,
    backend: Annotated[O.GenBackend | None, typer.Option(
        "--backend", help="Who writes the rows: template (a grammar; finheadlines only), hf (a local model, "
        "--model) or openai (a server, --openai-base-url). Default: the config's (template).")] = None,
    size: Annotated[int | None, typer.Option(
        "--size", help="Kept rows to reach before splitting (default: the config's, else 20000).")] = None,
    seed: O.Seed = None,
    iteration_size: Annotated[int | None, typer.Option(
        "--iteration-size", help="Rows generated per iteration (default: the config's, else 2000).")] = None,
    threshold: Annotated[float | None, typer.Option(
        "--threshold", help="Semantic dedup: drop a row when cosine >= threshold (default: the config's, else "
        "0.9).")] = None,
    dedup_mode: Annotated[O.DedupMode | None, typer.Option(
        "--dedup-mode", help="exact (blocked) or clustered (k-means partitions) (default: the config's, else "
        "exact).")] = None,
    config: O.Config = None,
    test_per_class: Annotated[int | None, typer.Option(
        "--test-per-class", help="Fixed test rows per class (default: the config's, else 20).")] = None,
    val_per_class: Annotated[int | None, typer.Option(
        "--val-per-class", help="Validation rows per class (default: the config's, else 10).")] = None,
    model: O.ModelOpt = None,
    openai_base_url: O.OpenAIBaseURL = None,
    openai_model: O.OpenAIModel = None,
    multi_event: Annotated[float | None, typer.Option(
        "--multi-event", help="Difficulty: share of multi-event headlines (default: the config's).")] = None,
    distractor: Annotated[float | None, typer.Option(
        "--distractor", help="Difficulty: share of near-miss distractors (default: the config's).")] = None,
    numeric: Annotated[float | None, typer.Option(
        "--numeric", help="Difficulty: share of numbers-only forms (default: the config's).")] = None,
    noisy: Annotated[float | None, typer.Option(
        "--noisy", help="Difficulty: share of noisy (tags, casing, typos) headlines (default: the config's).")
    ] = None,
):
    """Run (or resume) the iterative pipeline and write parquet splits + stats.json + stats.png + task.yaml
    into the dataset folder OUT (rerunning over it resumes the run)."""
    from taskdistill.config import load_yaml, validate
    from taskdistill.data.stats import stats_table
    from taskdistill.data.synth.pipeline import SynthConfig, generate_dataset

    check_out_folder(out)
    t = _load_task(task or DEFAULT_TASK)
    base = load_yaml(config, SynthConfig).model_dump() if config else {}
    flags = dict(backend=O.value(backend), size=size, seed=seed, batch_size=iteration_size, threshold=threshold,
                 dedup_mode=O.value(dedup_mode), test_per_class=test_per_class, val_per_class=val_per_class,
                 hf_model=model,
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
    file: Annotated[Path, typer.Argument(help="A split file (.parquet, .jsonl, .csv).")],
    task: O.Task = None,
    on_bad: O.OnBadOpt = O.OnBad.error,
    map_: O.Map = None,
    out: O.Out = None,
):
    """Check a split file against TASK's contract; exit code 2 on the first bad row (default).

    OUT: write the validated rows (contract columns, renamed, bad rows dropped with --on-bad skip) to this
    .parquet file. Without it nothing is written."""
    from taskdistill.data.loader import load_split

    if out is not None and out.suffix.lower() != ".parquet":
        raise InputError(out, "--out must be a .parquet file")
    check_out_file(out)
    t = _load_task(task or DEFAULT_TASK)
    fields = _parse_map(map_) or {}
    column_map = {col: (t.input_field if field == "text" else field) for field, col in fields.items()}
    report: dict = {}
    df = load_split(file, t, column_map=column_map or None, on_bad=O.value(on_bad), report=report)
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
def stats(folder: Annotated[Path, typer.Argument(help="Dataset folder with train/validation/test files.")],
          task: O.Task = None,
          write: Annotated[bool, typer.Option("--write/--no-write", help="(Re)write stats.json and stats.png "
                                              "into the folder.")] = False):
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
def default(name: Annotated[str | None, typer.Argument(help="A generated preset (finheadlinemix-mini); default: "
                                                        "the task's.")] = None,
            task: O.Task = None):
    """Build (first call) or locate the default dataset of a task; prints its folder.

    finheadlines: finheadlinemix-mini; a derived task (finheadlines-coarse): its parent's dataset,
    relabelled."""
    from taskdistill.data.default import PRESETS, default_dataset, ensure_dataset

    if name is not None:
        if name not in PRESETS:
            raise InputError("dataset", f"unknown dataset {name!r}; known: {', '.join(PRESETS)}")
        typer.echo(str(ensure_dataset(name, quiet=quiet())))
        return
    t = _load_task(task or DEFAULT_TASK)
    typer.echo(str(default_dataset(t, quiet=quiet())))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.add_typer(data_app, name="data")
