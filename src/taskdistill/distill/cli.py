"""CLI commands of the distill stage; `register` adds them to the main app.

``taskdistill distill``: train a student (pruned checkpoint, registry name or ``tiny:<arch>``) on a
split file, from a teacher top-k cache (no teacher forward), with any method x supervision, for one
task (``--task``; default: the task the annotations record, else finheadlines).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskdistill import options as O
from taskdistill.checks import check_out_folder, check_threads
from taskdistill.errors import InputError


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
        student: Annotated[str, typer.Option(
            "--student", help="Student model spec: a checkpoint folder (e.g. from `prune`), a registry name or "
            "tiny:<arch>.")],
        out: O.OutRequired,
        data: O.Data = None,
        annotations: Annotated[Path | None, typer.Option(
            "--annotations", help="A `teacher annotate` folder: its frame (teacher traces) and top-k cache for "
            "--fmt are used, checked against each other.")] = None,
        task_spec: O.Task = None,
        cache: Annotated[Path | None, typer.Option(
            "--cache", help="Teacher top-k cache folder (needed by label/cot/blended supervision).")] = None,
        config: O.Config = None,
        method: O.Method = None,
        supervision: Annotated[O.Supervision | None, typer.Option(
            "--supervision", help="label (KD on the answer tokens), cot (KD on teacher trace + answer), blended "
            "(the blended CoT loss) or sft (plain cross-entropy, no teacher cache). Default: the config's.")] = None,
        steps: O.Steps = None,
        batch_size: O.BatchSize = None,
        grad_accum: Annotated[int | None, typer.Option(
            "--grad-accum", help="Micro-batches per optimizer step (default: the config's).")] = None,
        lr: O.LR = None,
        warmup_steps: Annotated[int | None, typer.Option(
            "--warmup-steps", help="Linear learning-rate warmup steps (default: the config's).")] = None,
        temperature: Annotated[float | None, typer.Option(
            "--temperature", help="Distillation temperature (default: the config's).")] = None,
        blend_lambda: Annotated[float | None, typer.Option(
            "--blend-lambda", help="blended: the loss weight lambda, in [0, 1] (default: the config's).")] = None,
        blend_warmup: Annotated[int | None, typer.Option(
            "--blend-warmup", help="blended: steps over which lambda ramps up from 0 (default: the config's).")] = None,
        kd: Annotated[O.KD | None, typer.Option(
            "--kd", help="Divergence to the teacher: forward (KL), reverse (KL) or jsd (default: the config's).")
        ] = None,
        max_length: O.MaxLength = None,
        checkpoint_every: Annotated[int | None, typer.Option(
            "--checkpoint-every", help="Save a checkpoint every N steps; 0: only the final one (default: the "
            "config's).")
        ] = None,
        seed: O.Seed = None,
        label_mix: Annotated[bool | None, typer.Option(
            "--label-mix/--no-label-mix", help="blended with --annotations: also train on the answer-only rows "
            "(default on; ignored when --fmt is given).")] = None,
        fmt: O.FmtOpt = None,
        eval_data: Annotated[Path | None, typer.Option(
            "--eval-data", help="Held-out rows for before/after CE (and KL when they are in the cache): a split "
            "file or a dataset folder (its validation.parquet).")] = None,
        eval_limit: O.EvalLimit = None,
        expect_teacher: Annotated[str | None, typer.Option(
            "--expect-teacher", help="Refuse annotations or a cache from another teacher hash (default: the "
            "teacher recorded in the student's prune_report.json; 'any' accepts every teacher).")] = None,
        threads: O.Threads = O.THREADS,
        device: O.Device = O.DEVICE,
    ):
        """Distil (or fine-tune) a student; prints the final checkpoint and its held-out metrics.

        OUT is the run folder; the student is written to OUT/final. --data: training rows, a split file (id,
        the task's input field, label, rationale) or a dataset folder (its train.parquet); for cot/blended
        pass the annotation frame (frame_cot.parquet) so the traces are the teacher's. Not needed with
        --annotations. --fmt default: the cache's format, else cot for cot/blended supervision and label
        otherwise."""
        import json

        import torch

        from taskdistill.cache import output_lock
        from taskdistill.config import load_yaml, validate
        from taskdistill.console import quiet
        from taskdistill.data.loader import read_split
        from taskdistill.distill.config import DistillConfig
        from taskdistill.distill.trainer import load_log, train
        from taskdistill.models import load_model, resolve_device
        from taskdistill.targets.annotations import load_annotations
        from taskdistill.targets.cache import TopKCache
        from taskdistill.targets.examples import build_examples
        from taskdistill.targets.record import resolve_task

        check_threads(threads)
        check_out_folder(out, "--out")
        resolve_device(device)
        torch.set_num_threads(threads)
        cfg = load_yaml(config, DistillConfig) if config else DistillConfig()
        method, supervision, kd, fmt = O.value(method), O.value(supervision), O.value(kd), O.value(fmt)
        eval_limit = 64 if eval_limit is None else eval_limit
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
            examples = build_examples(tok, task, read_split(data, task), fmt=use_fmt,
                                      max_length=cfg.max_length)
        held = None
        if eval_data is not None:
            df = read_split(eval_data, task, "validation").iloc[:eval_limit]
            held = build_examples(tok, task, df, fmt=use_fmt, max_length=cfg.max_length)
        with output_lock(out):
            final = train(model, tok, examples, cfg, out, cache=topk, eval_examples=held, quiet=quiet(),
                          task=task, device=device)
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
