"""CLI commands of the scaling stage: ``taskdistill fit`` and ``taskdistill recommend``."""

from __future__ import annotations

from pathlib import Path

import typer

SWEEP = typer.Option(None, "--sweep", help="Sweep folder (results read from its store).")
RESULTS = typer.Option(None, "--results", help="Results table (.csv or .parquet), one row per evaluated model.")
TASK = typer.Option("finheadlines", "--task", help="Task (built-in name or YAML path): labels and chance levels.")


def read_sweep(sweep_dir: Path):
    """Results of a sweep folder through the sweep's own store (imported here, in the command layer only)."""
    from taskdistill.scaling.table import ResultsError

    try:
        from taskdistill.sweep.store import load_results
    except ImportError as exc:
        raise ResultsError(f"cannot read sweep {sweep_dir}: the sweep store is not available ({exc}); export the "
                           "results to CSV/parquet and pass --results instead") from exc
    try:
        return load_results(sweep_dir, include_failed=True)  # failed cells are counted in the report
    except TypeError:
        return load_results(sweep_dir)


def _load(sweep: Path | None, results: Path | None):
    from taskdistill.scaling.table import ResultsError, load_table

    try:
        return load_table(sweep=sweep, results=results, read_sweep=read_sweep)
    except ResultsError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _fits(df, fits_path: Path | None, n_boot: int, seed: int, progress: bool, task: str = "finheadlines"):
    from rich.console import Console

    from taskdistill.scaling import Fits, FitSettings, fit_cached
    from taskdistill.scaling.table import ResultsError

    try:
        if fits_path is not None:
            return Fits.load(fits_path)
        return fit_cached(df, FitSettings(n_boot=n_boot, seed=seed, task=str(task)), progress=progress)
    except ResultsError as exc:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]cannot fit:[/] {exc}")
        raise typer.Exit(2) from exc


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
    def fit_cmd(sweep: Path | None = SWEEP, results: Path | None = RESULTS,
                out: Path | None = typer.Option(None, "--out", help="Write the fits (JSON) here."),
                n_boot: int = typer.Option(100, "--n-boot", help="Bootstrap resamples per fit."),
                seed: int = typer.Option(0, "--seed"), task: str = TASK):
        """Fit scaling laws (power law and knee) per supervision x method x schedule, with bootstrap CIs."""
        from rich.console import Console

        from taskdistill.cli import quiet

        df = _load(sweep, results)
        fits = _fits(df, None, n_boot, seed, progress=not quiet(), task=task)
        print_fits(fits, Console())
        if out is not None:
            fits.save(out)
            Console().print(f"fits written to {out}")

    @app.command("recommend")
    def recommend_cmd(sweep: Path | None = SWEEP, results: Path | None = RESULTS,
                      fits_path: Path | None = typer.Option(None, "--fits", help="Use a saved fits JSON."),
                      min_f1: float | None = typer.Option(None, "--min-f1", help="Minimum in-domain macro-F1."),
                      max_params: float | None = typer.Option(None, "--max-params",
                                                              help="Maximum params ratio (student/teacher)."),
                      params: float | None = typer.Option(None, "--params",
                                                          help="Fix the params ratio (answer: data + supervision)."),
                      min_mmlu: float | None = typer.Option(
                          None, "--min-mmlu", help="Minimum of the general-knowledge metric (the fits' "
                          "general_metric: MMLU gold probability by default)."),
                      max_nll: float | None = typer.Option(None, "--max-nll", help="Maximum in-domain NLL."),
                      max_data: float | None = typer.Option(None, "--max-data", help="Maximum training examples."),
                      confident: bool = typer.Option(False, "--confident",
                                                     help="Require the interval, not just the prediction."),
                      as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
                      n_boot: int = typer.Option(100, "--n-boot"), seed: int = typer.Option(0, "--seed"),
                      task: str = TASK):
        """The cheapest setting (ratio, supervision, method, data size) predicted to meet the constraints."""
        import json

        from rich.console import Console
        from rich.markup import escape

        from taskdistill.cli import quiet
        from taskdistill.scaling.recommend import recommend

        df = _load(sweep, results)
        fits = _fits(df, fits_path, n_boot, seed, progress=not quiet() and not as_json, task=task)
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
