"""CLI commands of the data stage; `register` adds them to the main app.

    taskdistill data generate --backend template --size 20000 --seed 0 --out DIR   (rerun = resume)
    taskdistill data validate FILE [--on-bad skip] [--map text=headline]
    taskdistill data stats DIR
    taskdistill data default        (build or locate finheadlinemix-mini)
"""

from __future__ import annotations

from pathlib import Path

import typer

data_app = typer.Typer(help="Datasets: synthetic generation, validation, statistics.", no_args_is_help=True)


def _parse_map(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    out = {}
    for it in items:
        if "=" not in it:
            raise typer.BadParameter(f"--map expects SRC=DEST, got {it!r}")
        src, dst = it.split("=", 1)
        out[src] = dst
    return out


@data_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="Output folder (rerunning over it resumes the run)."),
    backend: str = typer.Option(None, help="template (default) | hf | openai"),
    size: int = typer.Option(None, help="Kept headlines to reach before splitting (default 20000)."),
    seed: int = typer.Option(None, help="Seed (default 0)."),
    batch_size: int = typer.Option(None, help="Headlines generated per iteration (default 2000)."),
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
    """Run (or resume) the iterative pipeline and write parquet splits + stats.json + stats.png."""
    from taskdistill.cli import quiet
    from taskdistill.config import load_yaml
    from taskdistill.data.stats import stats_table
    from taskdistill.data.synth.pipeline import SynthConfig, generate_dataset

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
    try:
        cfg = SynthConfig.model_validate(merged)
    except Exception as exc:
        raise typer.BadParameter(str(exc)) from exc
    generate_dataset(out, cfg, quiet=quiet())
    import json

    typer.echo(stats_table(json.loads((out / "stats.json").read_text())))
    typer.echo(f"wrote {out}/{{train,validation,test}}.parquet, stats.json, stats.png")


@data_app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="A split file (.parquet, .jsonl, .csv)."),
    on_bad: str = typer.Option("error", "--on-bad", help="error (stop at the first bad row) | skip (drop and count)."),
    map_: list[str] = typer.Option(None, "--map", help="Column rename SRC=DEST (repeatable), e.g. text=headline."),
):
    """Check a split file against the contract; exit code 1 on the first bad row (default)."""
    from taskdistill.data.loader import DataValidationError, load_split

    report: dict = {}
    try:
        df = load_split(file, column_map=_parse_map(map_), on_bad=on_bad, report=report)
    except DataValidationError as exc:
        typer.echo(f"invalid: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{file}: {report['rows']} rows read, {len(df)} valid")
    for reason, n in report.get("dropped", {}).items():
        typer.echo(f"  dropped {n} row(s): {reason}")


@data_app.command("stats")
def stats(folder: Path = typer.Argument(..., help="Dataset folder with train/validation/test files."),
          write: bool = typer.Option(False, help="(Re)write stats.json and stats.png into the folder.")):
    """Sizes, class shares, distinct-n, BoW difficulty probe (and the pipeline table if present)."""
    import json

    from taskdistill.data.loader import load_dataset
    from taskdistill.data.stats import dataset_stats, plot_stats, stats_table

    existing = folder / "stats.json"
    if existing.exists() and not write:
        typer.echo(stats_table(json.loads(existing.read_text())))
        return
    splits = load_dataset(folder, keep_extra=True)
    history = None
    if (folder / ".state").is_dir():  # a pipeline folder: keep its per-iteration table
        from taskdistill.data.synth.pipeline import load_corpus

        history = [{k: v for k, v in h.items() if k != "seconds"} for h in load_corpus(folder)[2]]
    prev = json.loads(existing.read_text()) if existing.exists() else {}
    s = dataset_stats(splits, history, extra={k: prev[k] for k in ("splits", "config") if k in prev})
    typer.echo(stats_table(s))
    if write:
        from taskdistill.cache import atomic_write_text

        atomic_write_text(folder / "stats.json", json.dumps(s, indent=1, sort_keys=True) + "\n")
        plot_stats(s, folder / "stats.png")


@data_app.command("default")
def default(name: str = typer.Argument("finheadlinemix-mini")):
    """Build (first call) or locate the embedded default dataset; prints its folder."""
    from taskdistill.cli import quiet
    from taskdistill.data.default import ensure_dataset

    typer.echo(str(ensure_dataset(name, quiet=quiet())))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.add_typer(data_app, name="data")
