"""Paired comparisons of settings at equal compression and data: which supervision is better (finding 3), and
is iterative pruning better than one-shot (finding 4)?

Two settings are compared on matched cells: the same data size, the same requested ratio, the same seed
(a seed fixes the pruning lineage and the data order, so the two runs differ only in the compared setting),
and equal values of every other grouping column. The estimate is the mean of the paired differences,
pooled over the matched cells (data sizes and ratios) and, separately, per ratio. Its interval is
cluster-robust with the seed-chain as the unit (a t interval with ``seeds - 1`` degrees of freedom), so the
correlation between the cells of one chain is accounted for; with a single seed the cells are the units and
the result says so. Schedules are compared only where they differ: the first pruning step of an iterative
chain is the one-shot model itself (identical by construction) and is excluded. The training budget of the
two schedules is matched by the sweep (same distillation steps per student).

A difference is *resolved* when its interval excludes zero; otherwise the comparison says how narrow the
interval would have to be, and roughly how many more seeds that takes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from taskdistill.scaling.metrics import metric_spec
from taskdistill.scaling.table import GROUP_BY, fit_rows

ORDER = {"supervision": ("label", "blended", "cot"), "schedule": ("iterative", "oneshot"),
         "method": ("logit", "lora")}


def _cell_col(rows: pd.DataFrame) -> str:
    return "target" if "target" in rows and rows["target"].notna().all() else "params_ratio"


def paired_differences(rows: pd.DataFrame, factor: str, a: str, b: str, metric: str) -> pd.DataFrame:
    """Matched rows of settings ``a`` and ``b`` of ``factor``: columns of the key, ``cell``, ``seed``, ``diff``
    (a - b, in metric units). Schedule comparisons drop the first pruning step (identical by construction)."""
    cell = _cell_col(rows)
    others = [c for c in GROUP_BY if c != factor and c in rows]
    r = rows[rows[metric].notna()].copy()
    r["cell"] = r[cell].round(3)
    key = [*others, "dataset_size", "cell", "seed"]
    va = r[r[factor] == a].groupby(key)[metric].mean()
    vb = r[r[factor] == b].groupby(key)[metric].mean()
    both = pd.concat({"a": va, "b": vb}, axis=1).dropna().reset_index()
    if factor == "schedule" and not both.empty:
        first = rows.loc[rows["method"] != "teacher", cell].round(3).max()
        both = both[both["cell"] < first - 1e-9]  # the first step of the chain is the one-shot model
    both["diff"] = both["a"] - both["b"]
    return both


def interval(d: pd.DataFrame, ci: float = 0.95) -> dict[str, Any]:
    """Mean paired difference with a seed-cluster-robust t interval."""
    n = len(d)
    if n == 0:
        return {"n": 0, "estimate": float("nan"), "ci": [float("nan")] * 2, "unit": "-", "df": 0}
    x = d["diff"].to_numpy(float)
    est = float(x.mean())
    seeds = d["seed"].to_numpy()
    G = len(np.unique(seeds))
    if G >= 2:
        resid = pd.Series(x - est).groupby(seeds).sum().to_numpy()
        se = math.sqrt(G / (G - 1) * float(np.sum(resid**2))) / n
        dof, unit = G - 1, "seed-chain"
    elif n >= 2:
        se = float(x.std(ddof=1)) / math.sqrt(n)
        dof, unit = n - 1, "cell (one seed: cells treated as independent)"
    else:
        return {"n": 1, "estimate": est, "ci": [float("nan")] * 2, "unit": "-", "df": 0, "se": float("nan"),
                "n_seeds": G}
    h = float(stats.t.ppf(1 - (1 - ci) / 2, dof)) * se
    return {"n": n, "estimate": est, "ci": [est - h, est + h], "se": se, "df": dof, "unit": unit, "n_seeds": G}


def verdict(res: dict[str, Any]) -> dict[str, Any]:
    """``resolved`` (interval excludes 0) or not, and what it would take to resolve it."""
    lo, hi = res["ci"]
    est = res["estimate"]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return {"resolved": False, "why": "no interval (fewer than two matched pairs)"}
    if lo > 0 or hi < 0:
        return {"resolved": True, "why": ""}
    hw = (hi - lo) / 2
    if abs(est) < 1e-12:
        return {"resolved": False, "why": f"not resolved at this grid: the estimate is 0 and the interval is ±{hw:.3f}"}
    k = (hw / abs(est)) ** 2
    return {"resolved": False, "why": f"not resolved at this grid: the interval (±{hw:.3f}) would have to be narrower "
            f"than ±{abs(est):.3f} to exclude zero, about {k:.1f}x as many seed-chains"}


def compare(df: pd.DataFrame, factor: str, metric: str, *, ci: float = 0.95, task=None) -> list[dict[str, Any]]:
    """Every pair of levels of ``factor`` on ``metric``: pooled over matched cells, then per ratio."""
    rows = fit_rows(df)
    if factor not in rows or metric not in rows:
        return []
    spec = metric_spec(metric, task)
    levels = [v for v in rows[factor].dropna().unique()]
    order = ORDER.get(factor, ())
    levels.sort(key=lambda v: (order.index(v) if v in order else 99, v))
    out = []
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            d = paired_differences(rows, factor, a, b, metric)
            if d.empty:
                continue
            res = interval(d, ci)
            per = []
            for c, part in d.groupby("cell"):
                pr = interval(part, ci)
                per.append({"cell": float(c), **pr, **verdict(pr)})
            out.append({"factor": factor, "a": a, "b": b, "metric": metric, "higher_better": spec.higher_better,
                        "n_cells": int(d[["dataset_size", "cell"]].drop_duplicates().shape[0]),
                        **res, **verdict(res), "per_ratio": per,
                        "excluded": "first pruning step (identical by construction)" if factor == "schedule" else ""})
    return out


def compare_all(df: pd.DataFrame, metrics, *, ci: float = 0.95, task=None,
                factors=("supervision", "schedule")) -> list[dict[str, Any]]:
    return [c for f in factors for m in metrics for c in compare(df, f, m, ci=ci, task=task)]


def sentence(c: dict[str, Any], task=None) -> str:
    """One generated sentence for a comparison (used by the report and the CLI)."""
    spec = metric_spec(c["metric"], task)
    lo, hi = c["ci"]
    what = f"{spec.label}, {c['a']} minus {c['b']}"
    where = f"pooled over {c['n_cells']} matched cells x {c.get('n_seeds', 0)} seed(s)"
    if c.get("excluded"):
        where += f", {c['excluded']} excluded"
    if not c["resolved"]:
        # a fit read back from its JSON cache has None where the interval was NaN
        num = f"{c['estimate']:+.3f}" + (f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None and np.isfinite(lo) else "")
        return f"{what}: {num} ({where}): {c['why']}."
    better = (c["estimate"] > 0) == spec.higher_better
    return (f"{what}: {c['estimate']:+.3f} [{lo:+.3f}, {hi:+.3f}] ({where}): {c['a'] if better else c['b']} is "
            f"better; the interval excludes zero.")
