"""CLI commands of the prune stage; `register` adds them to the main app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskdistill import options as O


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""

    @app.command("prune")
    def prune_cmd(
        model: O.Model,
        target: Annotated[float, typer.Option("--target", "-t", help="Fraction of the TEACHER's parameters to "
                                              "keep, in (0, 1].")],
        out: O.OutRequired,
        calib: Annotated[Path | None, typer.Option(
            "--calib", help="Calibration rows: a parquet file (or dataset folder) with the task's input column "
            "(+ 'label'); default: the task's dataset's train split.")] = None,
        task_spec: O.Task = None,
        strategy: Annotated[O.Strategy, typer.Option(
            "--strategy", "-s", help="What to remove: combined (width and depth), width or depth.")] = O.Strategy.combined,
        axes: Annotated[str | None, typer.Option(
            "--axes", help="Restrict to axes, e.g. 'heads,mlp' (of mlp, heads, hidden, layers).")] = None,
        importance: Annotated[O.Importance, typer.Option(
            "--importance", help="How units are scored: activation (calibration forward passes) or magnitude "
            "(weights only).")] = O.Importance.activation,
        layer_score: Annotated[O.LayerScore, typer.Option(
            "--layer-score", help="How --importance activation ranks layers: block_influence (1 - cos, free) | "
            "skip_loss (loss increase when a layer is bypassed; n_layers extra passes, for depth pruning).")
        ] = O.LayerScore.block_influence,
        reference_params: Annotated[int | None, typer.Option(
            "--reference-params", help="Teacher parameter count; default: read from the input's "
            "prune_report.json when it is a pruned student, else the input's own count.")] = None,
        non_embedding: Annotated[bool, typer.Option(
            "--non-embedding", help="Target non-embedding parameters.")] = False,
        n_calib: Annotated[int, typer.Option("--n-calib", help="Calibration texts.")] = 256,
        general_fraction: Annotated[float, typer.Option(
            "--general-fraction", help="Share of MMLU text in calibration.")] = 0.0,
        max_length: O.MaxLength = None,
        batch_size: O.BatchSize = None,
        seed: O.Seed = None,
        overwrite: O.Overwrite = False,
        device: O.Device = O.DEVICE,
    ):
        """Prune a model to a fraction of the teacher's parameters and save a standard HF checkpoint."""
        import time

        from rich.console import Console

        from taskdistill.checks import check_out_folder, check_range
        from taskdistill.console import quiet
        from taskdistill.errors import InputError
        from taskdistill.prune.importance import LAYER_SCORES, METHODS
        from taskdistill.task import DEFAULT_TASK

        console = Console(quiet=quiet())
        t0 = time.perf_counter()
        method, layer_score, strategy = O.value(importance), O.value(layer_score), O.value(strategy)
        max_length = 64 if max_length is None else max_length
        batch_size = 8 if batch_size is None else batch_size
        seed = 0 if seed is None else seed
        task_spec = task_spec or DEFAULT_TASK
        if method not in METHODS or layer_score not in LAYER_SCORES or (
                method == "magnitude" and layer_score != "block_influence"):
            raise InputError("--importance/--layer-score", f"{method}/{layer_score} is not a valid choice: "
                             f"importance {', '.join(METHODS)}; layer scores {', '.join(LAYER_SCORES)} (skip_loss "
                             "needs --importance activation)")
        check_range("--target", target, min=0, max=1, min_open=True)
        check_range("--n-calib", n_calib, min=1)
        check_range("--general-fraction", general_fraction, min=0, max=1)
        check_range("--max-length", max_length, min=1)
        check_range("--batch-size", batch_size, min=1)
        check_range("--reference-params", reference_params, min=1)
        check_out_folder(out)
        from taskdistill.models import resolve_device

        resolve_device(device)
        _prune(model, target, out, calib, task_spec, strategy, axes, method, layer_score, reference_params,
               non_embedding, n_calib, general_fraction, max_length, batch_size, seed, overwrite, console, t0,
               device)


def _teacher_hash(src: Path) -> str | None:
    """The teacher a pruned student descends from: the hash its input recorded, else the input's own
    checkpoint hash (the same hash `teacher annotate` records), so `distill` can check annotations."""
    from taskdistill.models import CheckpointError, model_hash

    rep = src / "prune_report.json"
    if rep.is_file():
        import json

        try:
            return json.loads(rep.read_text()).get("teacher_hash")
        except (OSError, ValueError, AttributeError):
            return None
    try:
        return model_hash(src)
    except CheckpointError:
        return None


def _prune(model, target, out, calib, task_spec, strategy, axes, method, layer_score, reference_params,
           non_embedding, n_calib, general_fraction, max_length, batch_size, seed, overwrite, console, t0, device):
    import time

    from rich.table import Table

    from taskdistill.cache import output_lock
    from taskdistill.console import quiet
    from taskdistill.errors import InputError
    from taskdistill.models import load_model, resolve_model_dir
    from taskdistill.prune import load_report, plan_shape, prune_model, save_pruned
    from taskdistill.prune.calib import calibration_texts
    from taskdistill.task import load_task

    def refuse_existing():
        if out.exists() and not overwrite:
            raise InputError(out, "already exists; pass --overwrite to replace it, or choose another --out")

    task = load_task(task_spec)
    refuse_existing()
    src = resolve_model_dir(model, quiet=quiet())
    m, tok = load_model(model, quiet=quiet(), device=device)
    ref = reference_params
    if ref is None and (src / "prune_report.json").is_file():
        rep = load_report(src)
        if bool(rep.get("non_embedding")) == non_embedding:
            ref = int(rep["reference_params"])
            console.print(f"input is a pruned student: reference = its teacher's {ref:,} parameters")
    axes_t = tuple(a.strip() for a in axes.split(",")) if axes else None
    plan_shape(m.config, target, strategy=strategy, reference_params=ref, non_embedding=non_embedding,
               axes=axes_t)  # fail fast, before the calibration pass
    texts = None
    if method == "activation":
        texts = calibration_texts(tok, task, calib, n=n_calib, general_fraction=general_fraction, seed=seed)
    with output_lock(out):  # one writer per --out; checked again now that we hold it
        refuse_existing()
        new, report = prune_model(m, tok, target, calib_texts=texts, strategy=strategy, method=method,
                                  reference_params=ref, non_embedding=non_embedding, axes=axes_t,
                                  batch_size=batch_size, max_length=max_length, progress=not quiet(),
                                  layer_score=layer_score, task=task if texts else None)
        report["calibration"] = {"file": str(calib) if calib else "default dataset", "n": n_calib,
                                 "general_fraction": general_fraction, "seed": seed}
        report["source"] = str(src)
        report["teacher_hash"] = _teacher_hash(src)
        save_pruned(new, tok, out, report, overwrite=overwrite)
    elapsed = time.perf_counter() - t0
    refp = report["reference_params"]
    table = Table(title=f"prune {model} -> {target:.0%} of teacher ({report['strategy']}, {method}"
                  f"{', ' + layer_score if method == 'activation' else ''})")
    table.add_column("")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    b, a = report["before"], report["after"]
    for key, label in (("layers", "layers"), ("hidden", "hidden"), ("heads", "heads"),
                       ("kv_heads", "KV heads"), ("intermediate", "intermediate"), ("params", "parameters")):
        table.add_row(label, f"{b[key]:,}", f"{a[key]:,}")
    table.add_row("% of teacher", f"{b['params'] / refp:.2%}", f"{a['params'] / refp:.2%}")
    console.print(table)
    console.print(f"saved {out}  ({elapsed:.1f} s; importance {report['seconds']['importance']:.1f} s)")
