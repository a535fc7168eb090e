"""CLI commands of the distill stage; `register` adds them to the main app.

``taskdistill distill``: train a student (pruned checkpoint, registry name or ``tiny:<arch>``) on a
split file, from a teacher top-k cache (no teacher forward), with any method x supervision, for one
task (``--task``; default: the task the annotations record, else finheadlines).
"""

from __future__ import annotations

from pathlib import Path

import typer

from taskdistill.checks import check_out_folder, check_threads
from taskdistill.errors import InputError


def _read_split(path: Path, task, split: str = "train"):
    """A split file of ``task`` (a folder means its ``<split>.parquet``), through the data loader."""
    from taskdistill.data.loader import load_split

    f = path / f"{split}.parquet" if path.is_dir() else path
    if not f.is_file():
        raise InputError(f, "data file not found; pass a split file or a dataset folder holding it")
    return load_split(f, task)


def _expected_teacher(student: str, expect: str | None) -> str | None:
    """The teacher hash the annotations must come from: ``--expect-teacher`` ('any': no check), else the
    teacher recorded in a pruned student's ``prune_report.json``, else no check."""
    import json

    if expect is not None:
        return None if expect.strip().lower() == "any" else expect
    report = Path(student).expanduser() / "prune_report.json"
    if not report.is_file():
        return None
    try:
        rec = json.loads(report.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(report, f"cannot read the prune report ({exc}); fix or remove it") from None
    return rec.get("teacher_hash") if isinstance(rec, dict) else None


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""

    @app.command("distill")
    def distill_cmd(
        student: str = typer.Option(..., "--student", help="Student: checkpoint folder, registry name or "
                                    "tiny:<arch>."),
        data: Path | None = typer.Option(None, "--data", help="Training rows: a split file (id, the task's "
                                         "input field, label, rationale) or a dataset folder (its train.parquet). For "
                                         "cot/blended pass the annotation frame (frame_cot.parquet) so the "
                                         "traces are the teacher's. Not needed with --annotations."),
        annotations: Path | None = typer.Option(None, "--annotations", help="A `teacher annotate` folder: "
                                                "its frame (teacher traces) and top-k cache for --fmt are "
                                                "used, checked against each other."),
        out: Path = typer.Option(..., "--out", help="Run folder; the student is written to OUT/final."),
        task_spec: str | None = typer.Option(None, "--task", help="Task: a built-in name or a task YAML "
                                             "(default: the task the annotations record, else finheadlines)."),
        cache: Path | None = typer.Option(None, "--cache", help="Teacher top-k cache folder (needed by "
                                          "label/cot/blended supervision)."),
        config: Path | None = typer.Option(None, "--config", help="YAML with DistillConfig fields."),
        method: str | None = typer.Option(None, "--method", help="logit | lora"),
        supervision: str | None = typer.Option(None, "--supervision", help="label | cot | blended | sft"),
        steps: int | None = typer.Option(None, "--steps"),
        batch_size: int | None = typer.Option(None, "--batch-size"),
        grad_accum: int | None = typer.Option(None, "--grad-accum"),
        lr: float | None = typer.Option(None, "--lr"),
        warmup_steps: int | None = typer.Option(None, "--warmup-steps"),
        temperature: float | None = typer.Option(None, "--temperature"),
        blend_lambda: float | None = typer.Option(None, "--blend-lambda"),
        blend_warmup: int | None = typer.Option(None, "--blend-warmup"),
        kd: str | None = typer.Option(None, "--kd", help="forward | reverse | jsd"),
        max_length: int | None = typer.Option(None, "--max-length"),
        checkpoint_every: int | None = typer.Option(None, "--checkpoint-every"),
        seed: int | None = typer.Option(None, "--seed"),
        label_mix: bool | None = typer.Option(None, "--label-mix/--no-label-mix", help="blended with "
                                              "--annotations: also train on the answer-only rows "
                                              "(default on; ignored when --fmt is given)."),
        fmt: str | None = typer.Option(None, "--fmt", help="label | cot (default: the cache's format, else "
                                       "cot for cot/blended supervision and label otherwise)"),
        eval_data: Path | None = typer.Option(None, "--eval-data", help="Held-out rows for before/after CE "
                                              "(and KL when they are in the cache)."),
        eval_limit: int = typer.Option(64, "--eval-limit", help="Use at most N held-out rows."),
        expect_teacher: str | None = typer.Option(None, "--expect-teacher", help="Refuse annotations or a cache "
                                                  "from another teacher hash (default: the teacher recorded in "
                                                  "the student's prune_report.json; 'any' accepts every teacher)."),
        threads: int = typer.Option(2, "--threads", help="torch intra-op threads."),
    ):
        """Distil (or fine-tune) a student; prints the final checkpoint and its held-out metrics."""
        import json

        import torch

        from taskdistill.cache import output_lock
        from taskdistill.config import load_yaml, validate
        from taskdistill.console import quiet
        from taskdistill.distill.config import DistillConfig
        from taskdistill.distill.trainer import load_log, train
        from taskdistill.models import load_model
        from taskdistill.targets.annotations import load_annotations
        from taskdistill.targets.cache import TopKCache
        from taskdistill.targets.examples import build_examples
        from taskdistill.targets.record import resolve_task

        check_threads(threads)
        check_out_folder(out, "--out")
        torch.set_num_threads(threads)
        cfg = load_yaml(config, DistillConfig) if config else DistillConfig()
        overrides = dict(method=method, supervision=supervision, steps=steps, batch_size=batch_size,
                         grad_accum=grad_accum, lr=lr, warmup_steps=warmup_steps, temperature=temperature,
                         blend_lambda=blend_lambda, blend_warmup=blend_warmup, kd=kd, max_length=max_length,
                         checkpoint_every=checkpoint_every, seed=seed, label_mix=label_mix)
        overrides = {k: v for k, v in overrides.items() if v is not None}
        cfg = validate(DistillConfig, cfg.model_dump() | overrides, str(config) if config else "options")
        if annotations is None and data is None:
            raise InputError("--data", "pass --data (a split file) or --annotations (a teacher annotate folder)")
        task = resolve_task(task_spec, annotations if annotations is not None else
                            (data if data.is_dir() else None), what="annotations" if annotations else "data")
        expect_teacher = _expected_teacher(student, expect_teacher)
        topk = TopKCache.open(cache, expect_teacher=expect_teacher) if cache else None
        use_fmt = fmt or (topk.fmt if topk else ("cot" if cfg.needs_traces else "label"))
        model, tok = load_model(student, quiet=quiet())
        if annotations is not None:
            ann = load_annotations(annotations, task, expect_teacher=expect_teacher)
            examples, ann_cache = ann.training_set(tok, cfg.supervision, label_mix=cfg.label_mix,
                                                   fmt=fmt or (topk.fmt if topk else None))
            if topk is None and cfg.needs_cache:
                topk = ann_cache
        else:
            examples = build_examples(tok, task, _read_split(data, task), fmt=use_fmt,
                                      max_length=cfg.max_length)
        held = None
        if eval_data is not None:
            df = _read_split(eval_data, task, "validation").iloc[:eval_limit]
            held = build_examples(tok, task, df, fmt=use_fmt, max_length=cfg.max_length)
        with output_lock(out):
            final = train(model, tok, examples, cfg, out, cache=topk, eval_examples=held, quiet=quiet(),
                          task=task)
        log = load_log(out)
        evals = [r for r in log if "eval" in r]
        steps_rows = [r for r in log if "loss" in r]
        typer.echo(json.dumps({
            "final": str(final),
            "steps": len(steps_rows),
            "last": steps_rows[-1] if steps_rows else None,
            "eval_before": evals[0]["eval"] if evals else None,
            "eval_after": evals[-1]["eval"] if len(evals) > 1 else None,
        }, indent=2))
