"""CLI commands of the scaling stage: ``taskdistill fit`` and ``taskdistill recommend``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from taskdistill import options as O


def read_sweep(sweep_dir: Path):
    """Results of a sweep folder through the sweep's own store (imported here, in the command layer only)."""
    from taskdistill.sweep.store import load_results

    return load_results(sweep_dir, include_failed=True)  # failed cells are counted in the report


def resolve_task(task: str | None, sweep: Path | None):
    """The task of a fit: ``--task``, else the sweep folder's recorded ``task.yaml``, else finheadlines. A
    ``--task`` that is not the sweep's own task is refused (its chance levels and labels would be wrong)."""
    from taskdistill.errors import InputError
    from taskdistill.task import DEFAULT_TASK, load_task

    recorded = Path(sweep) / "task.yaml" if sweep is not None else None
    own = load_task(recorded) if recorded is not None and recorded.is_file() else None
    if task is None:
        return own or load_task(DEFAULT_TASK)
    chosen = load_task(task)
    if own is not None and chosen.hash != own.hash:
        raise InputError("--task", f"{task!r} is not the task of sweep {sweep} ({own.name}, {recorded}); "
                         "leave --task out to use the sweep's own task")
    return chosen


def load(sweep: Path | None, results: Path | None, console=None):
    """The validated results table; prints how many rows each metric drops and why."""
    from rich.console import Console

    from taskdistill.scaling.table import load_table

    df = load_table(sweep=sweep, results=results, read_sweep=read_sweep)
    console = console or Console(stderr=True)
    for metric, reasons in df.attrs.get("dropped", {}).items():
        console.print(f"note: {metric}: " + ", ".join(f"{n} row(s) dropped ({why})" for why, n in reasons.items()))
    return df


def fits_for(df, fits_path: Path | None, n_boot: int, seed: int, progress: bool, task, workers: int | None = None):
    """Saved fits (checked against this table and task) or a (cached) fit of the table."""
    from taskdistill.checks import check_range
    from taskdistill.scaling import Fits, FitSettings, fit_cached

    check_range("--n-boot", n_boot, min=0)
    check_range("--processes", workers, min=1)
    if fits_path is not None:
        fits = Fits.load(fits_path)
        fits.check_source(df, task, fits_path)
        return fits
    return fit_cached(df, FitSettings(n_boot=n_boot, seed=seed, task=task.name), task=task, progress=progress,
                      workers=workers)


def print_fits(fits, console) -> None:
    """Chosen law, held-out error and collapse point per group and metric (a compact terminal summary)."""
    import numpy as np
    from rich.markup import escape
    from rich.table import Table

    from taskdistill.scaling.metrics import metric_spec

    t = Table(title=f"scaling-law fits ({fits.n_fitted_rows} student rows, {fits.n_failed} failed/unfinished "
              f"ignored, {fits.settings['n_boot']} bootstrap resamples)")
    for col in ("group", "metric", "law", "held-out log-RMSE", "collapse r (95% CI)", "notes"):
        t.add_column(col)
    for g in fits.groups:
        for m, mf in g.metrics.items():
            ff = mf.best()
            cv = ff.cv.get("rmse_log") if ff else None
            col = "-"
            if mf.collapse:
                from taskdistill.scaling.fit import fmt_collapse

                c = mf.collapse
                col = (fmt_collapse(c) if np.isfinite(c["r"]) else c["status"]) + (" extrap." if c["extrapolated"]
                                                                                   else "")
            notes = "; ".join(mf.notes + (ff.notes if ff else []))
            t.add_row(g.name, metric_spec(m).label, mf.chosen or mf.status, f"{cv:.3f}" if cv is not None else "-",
                      escape(col), escape(notes[:80]))
    console.print(t)
    for g in fits.groups:
        for gap in g.gaps:
            lo, hi = gap["ci"]
            ci = f"[{lo:+.3f}, {hi:+.3f}]" if gap.get("identified") else "[no interval: no finding]"
            p = gap["p_general_first"]
            console.print(escape(f"{g.name}: collapse({gap['general']}) - collapse({gap['indomain']}) = "
                                 f"{gap['gap']:+.3f} {ci}" + (f" (P(general first) = {p:.2f})" if p is not None
                                                             else "")))
    from taskdistill.scaling.compare import sentence

    for c in fits.comparisons:
        console.print(escape(sentence(c)))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to ``app``."""

    @app.command("fit")
    def fit_cmd(sweep: O.SweepDirOpt = None, results: O.Results = None, out: O.Out = None,
                n_boot: O.NBoot = O.N_BOOT, seed: O.Seed = None, task: O.Task = None,
                workers: Annotated[int | None, typer.Option(
                    "--processes", help="Processes fitting (group, metric) pairs side by side (default: every "
                    "usable CPU when --n-boot >= 20, else 1); the fits do not depend on it.")] = None):
        """Fit scaling laws (power law and knee) per supervision x method x schedule, with bootstrap CIs.
        OUT: the fits as JSON (for `recommend --fits` / `report --fits`)."""
        from rich.console import Console

        from taskdistill.console import quiet

        df = load(sweep, results)
        fits = fits_for(df, None, n_boot, seed or 0, progress=not quiet(), task=resolve_task(task, sweep),
                        workers=workers)
        print_fits(fits, Console())
        if out is not None:
            fits.save(out)
            Console().print(f"fits written to {out} (fitted in {fits.seconds:,.0f} s)")

    @app.command("recommend")
    def recommend_cmd(sweep: O.SweepDirOpt = None, results: O.Results = None, fits_path: O.Fits = None,
                      min_f1: Annotated[float | None, typer.Option(
                          "--min-f1", help="Minimum in-domain macro-F1.")] = None,
                      max_params: Annotated[float | None, typer.Option(
                          "--max-params", help="Maximum params ratio (student/teacher).")] = None,
                      params: Annotated[float | None, typer.Option(
                          "--params", help="Fix the params ratio (answer: data + supervision).")] = None,
                      min_mmlu: Annotated[float | None, typer.Option(
                          "--min-mmlu", help="Minimum of the general-knowledge metric (the fits' "
                          "general_metric: the question-text gain by default).")] = None,
                      max_nll: Annotated[float | None, typer.Option(
                          "--max-nll", help="Maximum in-domain NLL.")] = None,
                      max_data: Annotated[float | None, typer.Option(
                          "--max-data", help="Maximum training examples.")] = None,
                      confident: Annotated[bool, typer.Option(
                          "--confident", help="Require the interval, not just the prediction.")] = False,
                      as_json: O.Json = False, n_boot: O.NBoot = O.N_BOOT, seed: O.Seed = None,
                      task: O.Task = None):
        """The cheapest setting (ratio, supervision, method, data size) predicted to meet the constraints."""
        import json

        from rich.console import Console
        from rich.markup import escape

        from taskdistill.checks import check_range
        from taskdistill.console import quiet
        from taskdistill.scaling.recommend import recommend

        for opt, v, lo, hi in (("--min-f1", min_f1, 0, 1), ("--max-params", max_params, 0, None),
                               ("--params", params, 0, None), ("--max-nll", max_nll, 0, None),
                               ("--max-data", max_data, 0, None)):
            check_range(opt, v, min=lo, max=hi, min_open=opt in ("--max-params", "--params", "--max-data"))
        check_range("--min-mmlu", min_mmlu)
        df = load(sweep, results)
        fits = fits_for(df, fits_path, n_boot, seed or 0, progress=not quiet() and not as_json,
                        task=resolve_task(task, sweep))
        rec = recommend(df, fits, min_f1=min_f1, max_params=max_params, min_mmlu=min_mmlu, max_nll=max_nll,
                        max_data=max_data, params=params, confident=confident)
        if as_json:
            print(json.dumps(rec.to_dict(), indent=1, default=float))
            return
        c = Console()
        c.print(("[bold green]recommended:[/] " if rec.feasible else "[bold red]no setting qualifies:[/] ")
                + escape(rec.message))
        if rec.setting and rec.feasible:
            for m, v in rec.predicted.items():
                c.print(f"  {m}: {v['mean']:.4f}  [{v['low']:.4f}, {v['high']:.4f}]")
            if rec.setting.get("nearest_target") is not None:
                c.print(f"  sweep target for this ratio: ~{rec.setting['nearest_target']:.3f}")
            for a in rec.alternatives:
                v = a.get("vs_answer", {})
                c.print(escape(f"  alternative {a['supervision']}/{a['method']}/{a['schedule']} at r={a['params_ratio']}: "
                        f"answer minus it: {v.get('text', '-')}"
                        + (" (indistinguishable)" if v.get("indistinguishable") else "")))
        for n in rec.notes:
            c.print(escape(f"  note: {n}"))
        if not rec.feasible:
            raise typer.Exit(1)
