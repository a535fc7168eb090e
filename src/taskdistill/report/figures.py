"""The report's figures (matplotlib, headless): each returns a ``Figure`` or ``None`` when the table has
nothing to show for it (the report then says why in words, instead of shipping an empty plot).

Points are cell means over seeds with +-1 sd bars; lines are the chosen law of each group (dashed where the
law is extrapolated beyond the measured ratios), the band its pointwise bootstrap interval at the largest
data size. Teacher level: dashed black; chance level: dotted grey; collapse point: red line with its interval.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from taskdistill.scaling.metrics import metric_spec  # noqa: E402
from taskdistill.scaling.table import GROUP_BY, TEACHER_METHOD  # noqa: E402

plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "figure.dpi": 90, "axes.grid": True,
                     "grid.alpha": 0.3})


def group_name(key: dict | tuple, cols=GROUP_BY) -> str:
    vals = key.values() if isinstance(key, dict) else key
    return " / ".join(str(v) for v in vals)


def cell_means(rows: pd.DataFrame, metric: str, by=GROUP_BY) -> pd.DataFrame:
    """Mean, sd and seed count of ``metric`` per group x data size x ratio."""
    r = rows[rows[metric].notna()]
    g = r.groupby([*by, "dataset_size", "params_ratio"], dropna=False)[metric]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def _grid(n: int, ncols: int = 4, w: float = 3.3, h: float = 2.6, layout: str | None = None):
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows + 0.5), squeeze=False, layout=layout)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _levels(ax, metric: str, teacher: dict[str, float], chance: float | None = None) -> None:
    chance = metric_spec(metric).chance if chance is None else chance
    if metric in teacher:
        ax.axhline(teacher[metric], color="black", ls="--", lw=1, label="teacher")
    if chance is not None:
        ax.axhline(chance, color="grey", ls=":", lw=1, label="chance")


def _colors(values) -> dict[float, tuple]:
    values = sorted(set(values))
    cmap = plt.get_cmap("viridis")
    return {v: cmap(0.1 + 0.8 * i / max(1, len(values) - 1)) for i, v in enumerate(values)}


def _find_fit(fits, key: dict, metric: str):
    if fits is None:
        return None
    for g in fits.groups:
        if g.key == key:
            mf = g.metrics.get(metric)
            return mf if mf is not None and mf.status == "ok" else None
    return None


def fig_vs_compression(rows: pd.DataFrame, fits, metric: str, teacher: dict[str, float]) -> Figure | None:
    """One panel per group: metric vs params ratio, one colour per data size, fitted law and CI band."""
    cm = cell_means(rows, metric)
    if cm.empty:
        return None
    keys = cm[list(GROUP_BY)].drop_duplicates().to_dict("records")
    colors = _colors(cm["dataset_size"])
    fig, axes = _grid(len(keys))
    ci = fits.settings.get("ci", 0.95) if fits else 0.95
    for ax, key in zip(axes, keys, strict=False):
        sub = cm[(cm[list(GROUP_BY)] == pd.Series(key)).all(axis=1)]
        mf = _find_fit(fits, key, metric)
        r_lo = sub["params_ratio"].min()
        rr = np.linspace(max(0.02, r_lo * 0.8), 1.0, 120)
        for D, part in sub.groupby("dataset_size"):
            part = part.sort_values("params_ratio")
            ax.errorbar(part["params_ratio"], part["mean"], yerr=part["std"], fmt="o", ms=3.5, capsize=2,
                        color=colors[D], label=f"D={D / 1000:g}k")
            if mf is not None:
                mean, lo, hi = mf.predict(np.full_like(rr, D), rr, ci=ci)
                inside = rr >= r_lo
                ax.plot(rr[inside], mean[inside], color=colors[D], lw=1.2)
                ax.plot(rr[~inside], mean[~inside], color=colors[D], lw=1.2, ls="--")
                if D == sub["dataset_size"].max() and np.isfinite(lo).any():
                    ax.fill_between(rr, lo, hi, color=colors[D], alpha=0.2, lw=0, label=f"{ci:.0%} CI")
        _levels(ax, metric, teacher, mf.chance if mf is not None else None)  # the fit's (task's) chance level
        if mf is not None and mf.collapse and mf.collapse["status"] == "ok":
            c = mf.collapse
            ax.axvline(c["r"], color="tab:red", lw=1, label=f"collapse r={c['r']:.2f}")
            if all(np.isfinite(c["ci"])):
                ax.axvspan(c["ci"][0], c["ci"][1], color="tab:red", alpha=0.1, lw=0)
        law = f" ({mf.chosen})" if mf is not None else " (no fit)"
        ax.set_title(group_name(key) + law)
        ax.set_xlabel("params ratio r (student / teacher, with embeddings)")
        ax.set_ylabel(metric_spec(metric).label)
        ax.set_xlim(0, 1.03)
    axes[0].legend(fontsize=6, loc="best")
    fig.suptitle(f"{metric_spec(metric).label} vs compression")
    fig.tight_layout()
    return fig


def fig_vs_data(rows: pd.DataFrame, fits, metrics: list[str], teacher: dict[str, float]) -> Figure | None:
    """One panel per metric: metric vs training examples (log x), one line per group x ratio."""
    metrics = [m for m in metrics if rows[m].notna().any()]
    if not metrics:
        return None
    fig, axes = _grid(len(metrics), ncols=3, w=4.0, h=3.0)
    markers = "osD^v<>p*h"
    for ax, metric in zip(axes, metrics, strict=False):
        cm = cell_means(rows, metric)
        colors = _colors(cm["params_ratio"].round(2))
        keys = cm[list(GROUP_BY)].drop_duplicates().to_dict("records")
        for gi, key in enumerate(keys):
            sub = cm[(cm[list(GROUP_BY)] == pd.Series(key)).all(axis=1)]
            mf = _find_fit(fits, key, metric)
            for r, part in sub.groupby(sub["params_ratio"].round(2)):
                part = part.sort_values("dataset_size")
                ax.errorbar(part["dataset_size"], part["mean"], yerr=part["std"], marker=markers[gi % 10], ms=3.5,
                            ls="none", color=colors[r], capsize=2,
                            label=f"r={r:.2f}" if gi == 0 else None)
                if mf is not None:
                    DD = np.geomspace(part["dataset_size"].min(), part["dataset_size"].max() * 2, 50)
                    mean, _, _ = mf.predict(DD, np.full_like(DD, part["params_ratio"].mean()))
                    ax.plot(DD, mean, color=colors[r], lw=1, alpha=0.8)
        _levels(ax, metric, teacher)
        ax.set_xscale("log")
        ax.set_xlabel("training examples D")
        ax.set_ylabel(metric_spec(metric).label)
        ax.set_title(metric_spec(metric).label)
    axes[0].legend(fontsize=6)
    fig.suptitle("metrics vs dataset size (marker = group, colour = ratio; lines = fitted law)")
    fig.tight_layout()
    return fig


def fig_tradeoff(rows: pd.DataFrame, teacher: dict[str, float], x="indomain.macro_f1", y="mmlu.acc") -> Figure | None:
    """In-domain quality vs general knowledge for every cell, with the Pareto frontier."""
    if x not in rows or y not in rows:
        return None
    both = rows[rows[x].notna() & rows[y].notna()]
    if both.empty:
        return None
    cm = both.groupby([*GROUP_BY, "dataset_size", "params_ratio"], dropna=False)[[x, y]].mean().reset_index()
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    markers = "osD^v<>p*h"
    keys = cm[list(GROUP_BY)].drop_duplicates().to_dict("records")
    sc = None
    for gi, key in enumerate(keys):
        sub = cm[(cm[list(GROUP_BY)] == pd.Series(key)).all(axis=1)]
        sc = ax.scatter(sub[x], sub[y], c=sub["params_ratio"], cmap="viridis", vmin=0, vmax=1,
                        marker=markers[gi % 10], s=10 + 25 * np.log10(sub["dataset_size"] / sub["dataset_size"].min() + 1),
                        edgecolors="k", linewidths=0.3, label=group_name(key))
    pts = cm[[x, y]].to_numpy()
    order = np.argsort(-pts[:, 0])
    front, best_y = [], -np.inf
    for i in order:
        if pts[i, 1] > best_y:
            front.append(pts[i])
            best_y = pts[i, 1]
    front = np.array(front)
    ax.plot(front[:, 0], front[:, 1], color="tab:red", lw=1.2, label="Pareto frontier")
    if x in teacher and y in teacher:
        ax.scatter([teacher[x]], [teacher[y]], marker="*", s=180, color="gold", edgecolors="k", label="teacher",
                   zorder=5)
    for m, axis in ((y, "y"), (x, "x")):
        ch = metric_spec(m).chance
        if ch is not None:
            (ax.axhline if axis == "y" else ax.axvline)(ch, color="grey", ls=":", lw=1)
    if sc is not None:
        fig.colorbar(sc, ax=ax, label="params ratio r")
    ax.set_xlabel(metric_spec(x).label)
    ax.set_ylabel(metric_spec(y).label)
    ax.set_title("in-domain vs general-knowledge trade-off (marker size ~ data size)")
    ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    return fig


def schedule_pairs(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Cells measured with both schedules under otherwise equal settings: columns iterative, oneshot (the
    mildest ratio, where both schedules have pruned once and are identical, is left out)."""
    key = ["supervision", "method", "dataset_size", "target" if rows["target"].notna().all() else "params_ratio"]
    r = rows[rows[metric].notna() & rows["schedule"].isin(["iterative", "oneshot"])]
    if r.empty:
        return pd.DataFrame()
    piv = r.groupby([*key, "schedule"])[metric].mean().unstack("schedule")
    if not {"iterative", "oneshot"} <= set(piv.columns):
        return pd.DataFrame()
    out = piv.dropna(subset=["iterative", "oneshot"]).reset_index()
    # the first pruning step of an iterative chain is the one-shot model (identical by construction)
    first = rows.loc[rows["method"] != TEACHER_METHOD, key[-1]].max()
    return out[out[key[-1]] < first - 1e-9].reset_index(drop=True)


def fig_schedules(rows: pd.DataFrame, metrics: list[str]) -> Figure | None:
    """Iterative vs one-shot on matched cells (same supervision, method, data size and target)."""
    pairs = {m: schedule_pairs(rows, m) for m in metrics}
    pairs = {m: p for m, p in pairs.items() if not p.empty}
    if not pairs:
        return None
    fig, axes = _grid(len(pairs), ncols=3, w=3.6, h=3.2, layout="constrained")
    for ax, (m, p) in zip(axes, pairs.items(), strict=False):
        sc = ax.scatter(p["oneshot"], p["iterative"], c=p.get("target", p.get("params_ratio")), cmap="viridis",
                        vmin=0, vmax=1, s=18, edgecolors="k", linewidths=0.3)
        lo = float(min(p["oneshot"].min(), p["iterative"].min()))
        hi = float(max(p["oneshot"].max(), p["iterative"].max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
        better = (p["iterative"] > p["oneshot"]) if metric_spec(m).higher_better else (p["iterative"] < p["oneshot"])
        ax.set_title(f"{metric_spec(m).label}\niterative better in {int(better.sum())}/{len(p)}")
        ax.set_xlabel("one-shot")
        ax.set_ylabel("iterative")
    fig.colorbar(sc, ax=axes[: len(pairs)].tolist(), label="target ratio", shrink=0.8)
    fig.suptitle("iterative vs one-shot pruning (matched cells)")
    return fig


def fig_extrapolation(fits) -> Figure | None:
    """Held-out error of each group's chosen law when fitted on smaller D / milder r only."""
    recs = []
    for g in fits.groups if fits else []:
        for m, mf in g.metrics.items():
            ff = mf.best()
            if ff is None or ff.extrapolation.get("status") != "ok":
                continue
            for part in ("largest_D", "harshest_r", "corner"):
                if part in ff.extrapolation:
                    recs.append({"group": g.name, "metric": m, "part": part, "mae": ff.extrapolation[part]["mae"]})
    if not recs:
        return None
    df = pd.DataFrame(recs)
    metrics = list(dict.fromkeys(df["metric"]))
    fig, axes = _grid(len(metrics), ncols=3, w=4.2, h=3.0)
    for ax, m in zip(axes, metrics, strict=False):
        sub = df[df["metric"] == m].pivot_table(index="group", columns="part", values="mae")
        sub.plot.bar(ax=ax, rot=20, width=0.8)
        ax.set_title(f"{metric_spec(m).label}")
        ax.set_ylabel("mean abs. error (metric units)")
        ax.set_xlabel("")
        ax.tick_params(axis="x", labelsize=6)
        ax.legend(fontsize=6)
    fig.suptitle("extrapolation test: fit on smaller D and milder r, predict the held-out largest D / harshest r")
    fig.tight_layout()
    return fig


def fig_collapse(fits) -> Figure | None:
    """Collapse points (half the teacher-to-chance margin lost) with bootstrap intervals, per group."""
    recs = []
    for g in fits.groups if fits else []:
        for m, mf in g.metrics.items():
            if mf.collapse and mf.collapse["status"] != "teacher_at_chance":
                c = mf.collapse
                recs.append((g.name, m, c["r"], c["ci"][0], c["ci"][1], c["status"]))
    if not recs:
        return None
    df = pd.DataFrame(recs, columns=["group", "metric", "r", "lo", "hi", "status"])
    groups = list(dict.fromkeys(df["group"]))
    metrics = list(dict.fromkeys(df["metric"]))
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * len(groups) * len(metrics) ** 0.5 + 1.2))
    cmap = plt.get_cmap("tab10")
    for mi, m in enumerate(metrics):
        sub = df[df["metric"] == m]
        y = np.array([groups.index(g) for g in sub["group"]]) + (mi - (len(metrics) - 1) / 2) * 0.12
        err = np.vstack([sub["r"] - sub["lo"], sub["hi"] - sub["r"]]).clip(min=0)
        ax.errorbar(sub["r"], y, xerr=np.nan_to_num(err), fmt="o", ms=4, capsize=2, color=cmap(mi % 10),
                    label=metric_spec(m).label)
    ax.set_yticks(range(len(groups)), groups)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("collapse ratio r (larger = collapses at milder compression)")
    ax.set_title("collapse points with bootstrap intervals")
    ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    return fig


def teacher_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[(df["method"] == TEACHER_METHOD) & (df["status"] == "done")]
