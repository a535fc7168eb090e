"""CLI commands of the teacher stage; `register` adds them to the main app.

``taskdistill teacher prepare`` fine-tunes the base model into a competent teacher (cached);
``taskdistill teacher annotate`` writes labels, CoT traces and top-k logit caches for a dataset.
"""

from __future__ import annotations

from typing import Annotated

import typer

from taskdistill import options as O

teacher_app = typer.Typer(help="Prepare the teacher (fine-tune it on the task) and annotate datasets with it.",
                          no_args_is_help=True)


@teacher_app.command("prepare")
def prepare_cmd(
    base: Annotated[str, typer.Option(
        "--base", help="Base model spec to fine-tune: a checkpoint folder, a registry name or tiny:<arch>.")
    ] = "smollm2-135m-instruct",
    data: O.Data = None,
    task: O.Task = None,
    config: O.Config = None,
    steps: O.Steps = None,
    batch_size: O.BatchSize = None,
    lr: O.LR = None,
    method: O.Method = None,
    eval_limit: O.EvalLimit = None,
    seed: O.Seed = None,
    out: O.Out = None,
    device: O.Device = O.DEVICE,
):
    """Fine-tune the base model on the train split (label + cot formats) and report before/after F1.

    --data default: the task's default dataset (finheadlines: the embedded finheadlinemix-mini). OUT: write
    the teacher there instead of the cache."""
    import json

    import torch

    from taskdistill.checks import check_out_folder
    from taskdistill.config import load_yaml, validate
    from taskdistill.console import quiet
    from taskdistill.teacher.config import TeacherConfig
    from taskdistill.teacher.prepare import load_report, prepare_teacher

    torch.set_num_threads(min(2, torch.get_num_threads()))
    check_out_folder(out)
    from taskdistill.models import resolve_device

    resolve_device(device)
    cfg = load_yaml(config, TeacherConfig) if config else TeacherConfig()
    overrides = {k: v for k, v in dict(steps=steps, batch_size=batch_size, lr=lr, method=O.value(method),
                                       eval_limit=eval_limit, seed=seed).items() if v is not None}
    cfg = validate(TeacherConfig, cfg.model_dump(exclude={"train"}) | cfg.train.model_dump() | overrides,
                   str(config) if config else "options")
    path = prepare_teacher(base, data, cfg, quiet=quiet(), out=out, task=task, device=device)
    summary = load_report(path)["summary"]
    typer.echo(json.dumps({"teacher": str(path), "summary": summary}, indent=2))


@teacher_app.command("annotate")
def annotate_cmd(
    data: O.DataRequired,
    teacher: Annotated[str | None, typer.Option(
        "--teacher", help="Teacher: a `teacher prepare` folder or a model spec (optional with --trace-backend "
        "openai: traces only).")] = None,
    task: O.Task = None,
    k: Annotated[int, typer.Option("--k", help="Top-k teacher log-probs kept per supervised position.")] = 64,
    formats: Annotated[str, typer.Option("--formats", help="Comma-separated prompt formats: label, cot.")
                       ] = "label,cot",
    trace_backend: Annotated[O.TraceBackend, typer.Option(
        "--trace-backend", help="Who writes the cot traces: local (the teacher) or openai (an OpenAI-compatible "
        "server, see --openai-base-url).")] = O.TraceBackend.local,
    policy: Annotated[O.Policy, typer.Option(
        "--policy", help="Traces that disagree with gold: keep (gold answer after the trace), drop, or relabel "
        "(teacher's answer after the trace).")] = O.Policy.keep,
    limit: O.Limit = None,
    cot_limit: Annotated[int | None, typer.Option(
        "--cot-limit", help="Generate traces for a seeded random subset of N of those rows (generation is the "
        "slow part).")] = None,
    seed: O.Seed = None,
    split: Annotated[str, typer.Option("--split", help="Which split of the dataset folder to annotate.")
                     ] = "train",
    max_new_tokens: O.MaxNewTokens = O.MAX_NEW_TOKENS,
    gen_batch_size: Annotated[int, typer.Option(
        "--gen-batch-size", help="Rows per trace-generation batch.")] = 16,
    batch_size: O.BatchSize = None,
    max_length: O.MaxLength = None,
    openai_base_url: O.OpenAIBaseURL = None,
    openai_model: O.OpenAIModel = None,
    allow_other_data: Annotated[bool, typer.Option(
        "--allow-other-data", help="Annotate a dataset other than the one the teacher was prepared on.")
    ] = False,
    device: O.Device = O.DEVICE,
):
    """Teacher labels + probabilities, checked CoT traces and top-k logit caches for one dataset split."""
    import torch

    from taskdistill.checks import check_name, check_range
    from taskdistill.config import validate
    from taskdistill.console import quiet
    from taskdistill.teacher.annotate import annotate
    from taskdistill.teacher.config import GenerationConfig

    torch.set_num_threads(min(2, torch.get_num_threads()))
    seed = 0 if seed is None else seed
    batch_size = 16 if batch_size is None else batch_size
    max_length = 192 if max_length is None else max_length
    check_name(split, "--split")
    for option, value in (("--k", k), ("--limit", limit), ("--cot-limit", cot_limit), ("--max-length", max_length),
                          ("--batch-size", batch_size)):
        check_range(option, value, min=1)
    gen = validate(GenerationConfig, dict(max_new_tokens=max_new_tokens, batch_size=gen_batch_size,
                                          base_url=openai_base_url, model=openai_model), "options")
    from taskdistill.models import resolve_device

    resolve_device(device)
    path = annotate(teacher, data, task=task, k=k, formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
                    backend=O.value(trace_backend), policy=O.value(policy), limit=limit, quiet=quiet(), split=split,
                    max_length=max_length, gen=gen, batch_size=batch_size,
                    allow_other_data=allow_other_data, cot_limit=cot_limit, seed=seed, device=device)
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""
    app.add_typer(teacher_app, name="teacher")
