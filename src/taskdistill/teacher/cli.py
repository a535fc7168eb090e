"""CLI commands of the teacher stage; `register` adds them to the main app.

``taskdistill teacher prepare`` fine-tunes the base model into a competent teacher (cached);
``taskdistill teacher annotate`` writes labels, CoT traces and top-k logit caches for a dataset.
"""

from __future__ import annotations

from pathlib import Path

import typer

teacher_app = typer.Typer(help="Prepare the teacher (fine-tune it on the task) and annotate datasets with it.",
                          no_args_is_help=True)


@teacher_app.command("prepare")
def prepare_cmd(
    base: str = typer.Option("smollm2-135m-instruct", "--base", help="Base model spec (registry name, folder)."),
    data: Path | None = typer.Option(None, "--data", help="Dataset folder (train/validation/test.parquet); "
                                     "default: the task's default dataset (finheadlines: the embedded "
                                     "finheadlinemix-mini)."),
    task: str | None = typer.Option(None, "--task", help="Task: a built-in name or a task YAML (default: the "
                                    "task the dataset folder records, else finheadlines)."),
    config: Path | None = typer.Option(None, "--config", help="YAML with TeacherConfig fields."),
    steps: int | None = typer.Option(None, "--steps", help="Optimizer steps (overrides the config)."),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    lr: float | None = typer.Option(None, "--lr"),
    method: str | None = typer.Option(None, "--method", help="logit (full fine-tune) or lora."),
    eval_limit: int | None = typer.Option(None, "--eval-limit", help="Score only the first N rows of each "
                                          "eval split."),
    seed: int | None = typer.Option(None, "--seed"),
    out: Path | None = typer.Option(None, "--out", help="Write the teacher here instead of the cache."),
):
    """Fine-tune the base model on the train split (label + cot formats) and report before/after F1."""
    import json

    import torch

    from taskdistill.checks import check_out_folder
    from taskdistill.config import load_yaml, validate
    from taskdistill.console import quiet
    from taskdistill.teacher.config import TeacherConfig
    from taskdistill.teacher.prepare import load_report, prepare_teacher

    torch.set_num_threads(min(2, torch.get_num_threads()))
    check_out_folder(out)
    cfg = load_yaml(config, TeacherConfig) if config else TeacherConfig()
    overrides = {k: v for k, v in dict(steps=steps, batch_size=batch_size, lr=lr, method=method,
                                       eval_limit=eval_limit, seed=seed).items() if v is not None}
    cfg = validate(TeacherConfig, cfg.model_dump() | overrides, str(config) if config else "options")
    path = prepare_teacher(base, data, cfg, quiet=quiet(), out=out, task=task)
    summary = load_report(path)["summary"]
    typer.echo(json.dumps({"teacher": str(path), "summary": summary}, indent=2))


@teacher_app.command("annotate")
def annotate_cmd(
    teacher: str | None = typer.Option(None, "--teacher", help="Teacher checkpoint folder or model spec "
                                       "(optional with --backend openai: traces only)."),
    data: Path = typer.Option(..., "--data", help="Dataset folder (train/validation/test.parquet)."),
    task: str | None = typer.Option(None, "--task", help="Task: a built-in name or a task YAML (default: the "
                                    "task the teacher records, else the dataset's, else finheadlines)."),
    k: int = typer.Option(64, "--k", help="Top-k teacher log-probs kept per supervised position."),
    formats: str = typer.Option("label,cot", "--formats", help="Comma-separated: label, cot."),
    backend: str = typer.Option("local", "--backend", help="local (the teacher) or openai (traces from an "
                                "OpenAI-compatible endpoint)."),
    policy: str = typer.Option("keep", "--policy", help="Traces that disagree with gold: keep (gold answer "
                               "after the trace), drop, or relabel (teacher's answer after the trace)."),
    limit: int | None = typer.Option(None, "--limit", help="Annotate a seeded random subset of N rows."),
    cot_limit: int | None = typer.Option(None, "--cot-limit", help="Generate traces for a seeded random "
                                         "subset of N of those rows (generation is the slow part)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the --limit / --cot-limit subsets."),
    split: str = typer.Option("train", "--split"),
    max_new_tokens: int = typer.Option(96, "--max-new-tokens", help="Cap on a generated trace."),
    gen_batch_size: int = typer.Option(16, "--gen-batch-size"),
    batch_size: int = typer.Option(16, "--batch-size", help="Batch for label scoring and the top-k pass."),
    max_length: int = typer.Option(192, "--max-length", help="Prompt + target tokens per example."),
    base_url: str | None = typer.Option(None, "--base-url", help="openai backend: e.g. http://host:8000/v1"),
    model: str | None = typer.Option(None, "--model", help="openai backend: model name."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env"),
    allow_other_data: bool = typer.Option(False, "--allow-other-data", help="Annotate a dataset other than "
                                          "the one the teacher was prepared on."),
):
    """Teacher labels + probabilities, checked CoT traces and top-k logit caches for one dataset split."""
    import torch

    from taskdistill.checks import check_name, check_range
    from taskdistill.config import validate
    from taskdistill.console import quiet
    from taskdistill.teacher.annotate import annotate
    from taskdistill.teacher.config import GenerationConfig

    torch.set_num_threads(min(2, torch.get_num_threads()))
    check_name(split, "--split")
    for option, value in (("--k", k), ("--limit", limit), ("--cot-limit", cot_limit), ("--max-length", max_length),
                          ("--batch-size", batch_size)):
        check_range(option, value, min=1)
    gen = validate(GenerationConfig, dict(max_new_tokens=max_new_tokens, batch_size=gen_batch_size,
                                          base_url=base_url, model=model, api_key_env=api_key_env), "options")
    path = annotate(teacher, data, task=task, k=k, formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
                    backend=backend, policy=policy, limit=limit, quiet=quiet(), split=split,
                    max_length=max_length, gen=gen, batch_size=batch_size,
                    allow_other_data=allow_other_data, cot_limit=cot_limit, seed=seed)
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.add_typer(teacher_app, name="teacher")
