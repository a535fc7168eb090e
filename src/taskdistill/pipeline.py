"""The main job, ``taskdistill run``: one command from nothing to a report.

It sits above every stage (it may import sweep, scaling and report; none of them imports it):
data -> teacher preparation -> (teacher demo table) -> annotations -> iterative pruning -> distillation
-> evaluation -> scaling fits -> report. It is a sweep (the quickstart preset by default) plus the
steps around it, so everything it computes is content-addressed: a second run finds every node,
every result row and the fits of an unchanged results table, and only re-renders the report. The
task is the spec's (``task:``); the fits and the report get it explicitly, with the results table.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from taskdistill.sweep.spec import SweepSpec, load_spec, preset_path
from taskdistill.task import Task

DEFAULT_PRESET = "quickstart"


def teacher_demo_table(teacher_dir: str | Path, test_split: str | Path, task: Task, n: int = 5, seed: int = 0,
                       top: int = 3) -> Table:
    """The prepared teacher's top label scores for ``n`` test inputs (a seeded sample).

    Scores come from the evaluation stage's exact label scoring: a softmax over the log-likelihoods
    of the task's label strings after the prompt, i.e. the same numbers macro-F1, NLL and Brier use."""
    from taskdistill.data.loader import read_split
    from taskdistill.evaluate.indomain import score_labels
    from taskdistill.models import load_model

    col = task.input_field
    df = read_split(test_split, task, "test")
    df = df.sample(n=min(n, len(df)), random_state=seed)
    model, tok = load_model(teacher_dir, quiet=True)
    probs = score_labels(model, tok, task, df[col].tolist(), fmt="label", mode="label", progress=False)
    labels = task.label_names
    noun = "headlines" if col == "headline" else "inputs"
    t = Table(title=f"teacher's top-{top} label scores on {len(df)} test {noun}", show_lines=False)
    t.add_column(col, max_width=60)
    t.add_column("gold")
    t.add_column("teacher (p)")
    for (_, row), p in zip(df.iterrows(), probs, strict=True):
        order = sorted(range(len(labels)), key=lambda k: -p[k])[:top]
        ranked = ", ".join(f"{'[b]' if labels[k] == row['label'] else ''}{labels[k]}"
                           f"{'[/b]' if labels[k] == row['label'] else ''} {p[k]:.2f}" for k in order)
        t.add_row(row[col], row["label"], ranked)
    return t


RESULT_COLUMNS = [("target", "target", "{:.2f}"), ("params_ratio", "params", "{:.3f}"),
                  ("method", "method", "{}"), ("supervision", "supervision", "{}"), ("schedule", "schedule", "{}"),
                  ("dataset_size", "D", "{:.0f}"), ("seed", "seed", "{}"),
                  ("indomain.macro_f1", "macro-F1", "{:.3f}"), ("indomain.accuracy", "acc", "{:.3f}"),
                  ("indomain.nll", "NLL", "{:.3f}"), ("indomain.brier", "Brier", "{:.3f}"),
                  ("mmlu.acc", "MMLU acc", "{:.3f}")]


def results_table(df) -> Table:
    t = Table(title="results (one row per evaluated model)")
    # each transfer set's macro-F1 beside the synthetic one (eval.transfer; e.g. real headlines)
    transfer = [(c, f"{c.split('.')[1]} F1", "{:.3f}") for c in df.columns
                if c.startswith("transfer.") and c.endswith(".macro_f1")]
    cols = [c for c in RESULT_COLUMNS if c[0] in df.columns]
    at = next((i + 1 for i, c in enumerate(cols) if c[0] == "indomain.macro_f1"), len(cols))
    cols[at:at] = transfer
    for _, name, _ in cols:
        t.add_column(name, justify="right")
    for _, row in df.sort_values(["target", "supervision"], ascending=[False, True]).iterrows():
        cells = []
        for col, _, fmt in cols:
            v = row[col]
            try:
                cells.append(fmt.format(v) if v == v and v is not None else "-")
            except (ValueError, TypeError):
                cells.append(str(v))
        t.add_row(*cells)
    return t


def fit_and_report(sweep_dir: Path, console: Console, task: Task) -> dict[str, Any]:
    """Fit the scaling laws (reused while the results table is unchanged) and write the report."""
    from taskdistill.cache import atomic_write_json, content_hash
    from taskdistill.report import REPORT_FORMAT, build_report
    from taskdistill.scaling import fit_cached, fit_key
    from taskdistill.scaling.table import ResultsError
    from taskdistill.sweep.store import load_results

    out: dict[str, Any] = {"fits": None, "report": None, "notes": []}
    fit_error = None
    df = load_results(sweep_dir, include_failed=True)
    df.attrs["source"] = str(sweep_dir)
    from taskdistill.sweep.compute import compute_summary

    compute = compute_summary(sweep_dir)  # the report's "Compute spent" section
    # the report is rebuilt when its fit would change (the table, the fit settings and format, the task),
    # when its layout changes, or when the transfer sets (found or not, and where) change
    key = content_hash(fit_key(df, task=task), REPORT_FORMAT, df.attrs.get("transfer") or [])
    fits = None
    try:
        with console.status("fitting scaling laws ..."):
            fits = fit_cached(df, task=task)  # reused while the table, settings and task are unchanged
        fits.save(sweep_dir / "fits.json")
    except ResultsError as exc:
        fit_error = str(exc)
        out["notes"].append(f"no scaling fits: {exc}")
    out["fits"] = fits
    df.attrs["source"] = str(sweep_dir)
    report_dir = sweep_dir / "report"
    report_stamp = report_dir / "source.json"
    html, md = report_dir / "report.html", report_dir / "report.md"
    if not (html.is_file() and md.is_file() and report_stamp.is_file()
            and json.loads(report_stamp.read_text()).get("key") == key):
        with console.status("writing the report ..."):
            html, md = build_report(df, fits, report_dir, title=f"taskdistill report: {sweep_dir.name}",
                                    fit_error=fit_error, task=task, compute=compute)
        atomic_write_json(report_stamp, {"key": key})
    out["report"] = {"html": html, "md": md}
    return out


def _stdout() -> Console:
    """Tables go to stdout; wide enough for the results table even when piped to a log file."""
    c = Console()
    return c if c.is_terminal else Console(width=160)


def run_main(preset: str | None = None, config: str | Path | None = None, out: str | Path | None = None,
             executor: str | None = None, workers: int | None = None, address: str | None = None,
             demo_n: int = 5, quiet: bool = False, task: str | None = None, data: str | None = None,
             device: str | None = None) -> int:
    """Run the whole job; returns the process exit code (1 when a cell failed). ``task`` / ``data`` run
    the preset or spec on another task and dataset folder (paths relative to the working directory).
    ``device``: where the models run (default: the spec's ``execution.device``)."""
    from taskdistill.cache import output_lock
    from taskdistill.sweep.executors import check_run
    from taskdistill.sweep.stages import QUIET_ENV

    t0 = time.perf_counter()
    os.environ[QUIET_ENV] = "1" if quiet else "0"
    console = Console(stderr=True, quiet=quiet)
    spec_file = Path(config) if config else preset_path(preset or DEFAULT_PRESET)
    spec: SweepSpec = load_spec(spec_file, task=task, data=data)
    sweep_dir = Path(out) if out else Path("runs") / spec.name
    check_run(spec, sweep_dir, executor=executor, workers=workers, device=device)  # before anything is written
    device = device or spec.execution.device
    with output_lock(sweep_dir):  # one `run` / `sweep run` per sweep folder
        return _run_locked(spec, spec_file, sweep_dir, executor, workers, address, demo_n, quiet, console, t0,
                           device)


def _run_locked(spec, spec_file, sweep_dir, executor, workers, address, demo_n, quiet, console, t0,
                device) -> int:
    from taskdistill.sweep.dag import expand
    from taskdistill.sweep.executors import run_sweep
    from taskdistill.sweep.runner import NodeRunner, register
    from taskdistill.sweep.stages import RealStages
    from taskdistill.sweep.store import load_results

    task = spec.task_obj
    console.rule(f"taskdistill run: {spec.name} ({spec_file})")
    console.print(f"{spec.description}\n{spec.n_cells()} cells -> {sweep_dir}")

    # 1. data + teacher first, so the teacher's demo table shows up before the long part.
    store, cells = register(spec, sweep_dir)
    runner = NodeRunner(RealStages(quiet=quiet, device=device), store)
    shared = {n.stage: n for n in cells[0].node.ancestors() if n.stage in ("data", "teacher")}
    try:
        data = runner.ensure(shared["data"])
        console.print(f"data: {data['path']} ({data['n_train']} train rows)")
        teacher = runner.ensure(shared["teacher"])
    except Exception as exc:  # every cell needs these two: stop with a clear message, keep the traceback
        import traceback

        from taskdistill.cache import atomic_write_text

        log = atomic_write_text(sweep_dir / "error.log", traceback.format_exc())
        Console(stderr=True).print(f"[red]error[/]: {type(exc).__name__}: {exc}\n(full traceback: {log})")
        return 1
    console.print(f"teacher: {teacher['path']} ({teacher['params'] / 1e6:.1f}M params)")
    if demo_n > 0:
        _stdout().print(teacher_demo_table(teacher["path"], Path(data["path"]) / "test.parquet", task, n=demo_n))

    # 2. the grid
    counts = run_sweep(spec, sweep_dir, executor=executor, workers=workers, address=address, quiet=quiet,
                       device=device)
    df = load_results(sweep_dir)
    _stdout().print(results_table(df))
    failed = [c for c in store.cells() if c["status"] == "failed"]
    for c in failed:
        last = (c["error"] or "").strip().splitlines()[-1:] or ["?"]
        console.print(f"[red]failed[/]: {c['label']}: {last[0]}  (full traceback: taskdistill sweep status "
                      f"{sweep_dir})")

    # 3. fits + report
    rep = fit_and_report(sweep_dir, console, task)
    for note in rep["notes"]:
        console.print(f"note: {note}")
    elapsed = time.perf_counter() - t0
    n_expected = len(expand(spec))
    msg = (f"{len(df)}/{n_expected} result rows, {counts['done']} computed in this run, {len(failed)} failed; "
           f"{elapsed / 60:.1f} min")
    console.print(msg)
    if rep["report"]:
        _stdout().print(f"report: {rep['report']['html']}  (Markdown twin: {rep['report']['md']})")
    _stdout().print(f"results: {sweep_dir / 'results.sqlite'}  (taskdistill sweep export {sweep_dir} --out "
                    "results.csv)")
    return 1 if failed else 0
