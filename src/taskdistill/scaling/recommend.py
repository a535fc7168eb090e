"""``recommend``: the cheapest setting the fitted laws predict will meet a user's constraints.

"Cheapest" means, in this order: inside the measured range before any extrapolation; then the smallest
student (``params_ratio``: serving cost is paid on every request); then the least training data (annotation
and distillation cost); then a simpler method/supervision as listed in ``PREFERENCE``. Predictions come with
the pointwise bootstrap intervals of the chosen law. Candidates are searched on a grid over the *fitted*
range of each group — ratios from the harshest measured ratio to the mildest, data sizes from the smallest
to the largest measured — plus a **mild** extrapolation margin (ratios down to ``0.8 x`` the harshest, data up
to ``2 x`` the largest), always flagged. Nothing further out is ever proposed; if nothing qualifies the
answer says so and shows the best the laws predict within the constraints.

Alternatives (the best setting of every other group) are compared with the answer at the answer's ratio and
data size: the difference of their predictions on the first constraint, with the interval of that difference
from the two fits' bootstrap draws; an interval that contains zero makes the two *indistinguishable*, and the
answer says so. ``confident=True`` needs an interval: when the fit has none (an exactly determined law), it
refuses with a message instead of falling back to the point prediction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from taskdistill.scaling.metrics import metric_spec

if TYPE_CHECKING:  # kept light: the package imports this module eagerly (see taskdistill.scaling)
    import pandas as pd

    from taskdistill.scaling.fit import Fits

R_MARGIN = 0.8  # mild extrapolation: down to 0.8 x the harshest measured ratio
D_MARGIN = 2.0  # and up to 2 x the largest measured data size
PREFERENCE = {"method": ("logit", "lora"), "supervision": ("label", "blended", "cot"),
              "schedule": ("oneshot", "iterative")}


@dataclass
class Constraint:
    metric: str
    bound: float
    kind: str  # "min" or "max"

    def met(self, value):
        return value >= self.bound if self.kind == "min" else value <= self.bound

    def __str__(self) -> str:
        return f"{metric_spec(self.metric).label} {'>=' if self.kind == 'min' else '<='} {self.bound:g}"


@dataclass
class Recommendation:
    feasible: bool
    message: str
    constraints: list[str]
    setting: dict[str, Any] | None = None
    predicted: dict[str, dict[str, float]] = field(default_factory=dict)
    extrapolated: list[str] = field(default_factory=list)
    confident: bool = False
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _nearest_target(results: pd.DataFrame | None, r: float) -> float | None:
    if results is None or "target" not in results or results["target"].isna().all():
        return None
    t = results[(results["method"] != "teacher")][["target", "params_ratio"]].dropna()
    if t.empty:
        return None
    # requested targets land slightly off their actual ratio; map r back through the measured pairs
    pairs = t.groupby("target")["params_ratio"].mean().sort_values()
    return float(np.interp(r, pairs.to_numpy(), pairs.index.to_numpy(dtype=float)))


def _iv(lo: float, hi: float) -> str:
    """A printed interval, or why there is none (a fit with no more rows than parameters has no bootstrap)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "[no interval: exactly determined law or too few rows]"
    return f"[{lo:.3f}, {hi:.3f}]"


def _difference(best: dict, other: dict, cons: list[Constraint], fits: Fits) -> dict[str, Any]:
    """Answer minus alternative on the first constraint's metric, both at the answer's (D, r), with the
    interval of the difference from the two fits' bootstrap draws (independent fits: draws paired at random)."""
    metric = cons[0].metric if cons else next(iter(best["pred"]))
    ci = fits.settings.get("ci", 0.95)
    D, r = np.array([best["D"]]), np.array([best["r"]])
    ga, gb = best["group"].metrics.get(metric), other["group"].metrics.get(metric)
    if ga is None or gb is None or ga.status != "ok" or gb.status != "ok":
        return {"metric": metric, "text": "no fit to compare"}
    est = float(ga.predict(D, r)[0][0] - gb.predict(D, r)[0][0])
    da, db = ga.draws(D, r)[:, 0], gb.draws(D, r)[:, 0]
    n = min(len(da), len(db))
    if n < 2:
        return {"metric": metric, "difference": est, "low": None, "high": None, "indistinguishable": None,
                "text": f"{est:+.3f}, no interval"}
    lo, hi = np.quantile(da[:n] - db[:n], [(1 - ci) / 2, 1 - (1 - ci) / 2])
    return {"metric": metric, "difference": est, "low": float(lo), "high": float(hi),
            "indistinguishable": bool(lo <= 0 <= hi),
            "text": f"{metric_spec(metric).label} difference {est:+.3f} [{lo:+.3f}, {hi:+.3f}]"}


def _fmt_D(D: float) -> str:
    return f"{D / 1000:.3g}k" if D >= 1000 else f"{D:.0f}"


def _constraints(f1_metric: str, general_metric: str, min_f1, min_mmlu, max_nll, max_params, max_data,
                 params) -> tuple[list[Constraint], list[str]]:
    """Pass 1: the metric constraints, and every limit in words (for the answer's ``constraints``)."""
    cons = [Constraint(metric, float(bound), kind) for metric, bound, kind in (
        (f1_metric, min_f1, "min"), (general_metric, min_mmlu, "min"), ("indomain.nll", max_nll, "max"))
        if bound is not None]
    desc = [str(c) for c in cons]
    for text, value in (("params ratio <= {:g}", max_params), ("training examples <= {:g}", max_data),
                        ("params ratio = {:g}", params)):
        if value is not None:
            desc.append(text.format(value))
    return cons, desc


def _search_grid(g, needed: list[str], n_grid: int, params, max_params, max_data,
                 notes: list[str]) -> tuple[np.ndarray, np.ndarray, tuple] | None:
    """Pass 2, per group: the (ratio, data size) grid over its fitted range plus the mild margin, cut to
    the size/data limits; None (with a note) when nothing is left."""
    r_obs = sorted({x for m in needed for x in g.metrics[m].r_levels})
    D_obs = sorted({x for m in needed for x in g.metrics[m].D_levels})
    r_lo, r_hi = min(r_obs), max(r_obs)
    D_lo, D_hi = min(D_obs), max(D_obs)
    r_grid = np.unique(np.concatenate([r_obs, np.linspace(r_lo * R_MARGIN, r_hi, n_grid)]))
    if params is not None:
        if not r_lo * R_MARGIN - 1e-9 <= params <= r_hi + 1e-9:
            notes.append(f"{g.name}: params ratio {params:g} is outside the fitted range "
                         f"[{r_lo:.3f}, {r_hi:.3f}] (+ mild margin)")
            return None
        r_grid = np.array([float(params)])
    D_grid = np.unique(np.concatenate([D_obs, np.geomspace(D_lo, D_hi * D_MARGIN, n_grid)]))
    if max_params is not None:
        r_grid = r_grid[r_grid <= max_params + 1e-9]
    if max_data is not None:
        D_grid = D_grid[D_grid <= max_data + 1e-9]
    if not len(r_grid) or not len(D_grid):
        notes.append(f"{g.name}: no measured-range setting within the size/data limits")
        return None
    return r_grid, D_grid, (r_lo, r_hi, D_lo, D_hi)


def _meets(g, cons: list[Constraint], preds: dict, n: int, confident: bool, notes: list[str]) -> np.ndarray:
    """Pass 3, per group: which grid points meet every constraint (by the point prediction, or with
    ``confident`` by the conservative end of the interval)."""
    good = np.ones(n, bool)
    for c in cons:
        mean, lo, hi = preds[c.metric]
        spec = metric_spec(c.metric)
        if confident and not np.isfinite(lo).any():
            notes.append(f"{g.name}: no interval for {spec.label} (the law is exactly determined or has no "
                         "bootstrap draws): --confident cannot check it")
            good &= False
            continue
        conservative = (lo if spec.higher_better else hi) if confident else mean
        good &= c.met(conservative) & (np.isfinite(conservative) | (not confident))
    return good


def _candidates(fits: Fits, cons: list[Constraint], filters: dict, n_grid: int, params, max_params, max_data,
                confident: bool, notes: list[str]) -> list[dict[str, Any]]:
    """Passes 2-3 over every group that matches the filters: one candidate per grid point."""
    cands = []
    for g in fits.groups:
        if any(v is not None and g.key.get(k) != v for k, v in filters.items()):
            continue
        needed = [c.metric for c in cons] or [m for m, mf in g.metrics.items() if mf.status == "ok"][:1]
        missing = [m for m in needed if m not in g.metrics or g.metrics[m].status != "ok"]
        if missing:
            notes.append(f"{g.name}: skipped, no usable fit for {', '.join(missing)}")
            continue
        grid = _search_grid(g, needed, n_grid, params, max_params, max_data, notes)
        if grid is None:
            continue
        r_grid, D_grid, (r_lo, r_hi, D_lo, D_hi) = grid
        RR, DD = np.meshgrid(r_grid, D_grid, indexing="ij")
        rr, dd = RR.ravel(), DD.ravel()
        preds = {m: g.metrics[m].predict(dd, rr, ci=fits.settings.get("ci", 0.95)) for m in needed}
        good = _meets(g, cons, preds, len(rr), confident, notes)
        ok_metrics = [m for m, mf in g.metrics.items() if mf.status == "ok"]
        r_ex = rr < r_lo - 1e-9
        d_ex = dd > D_hi + 1e-9
        for i in range(len(rr)):
            cands.append({"group": g, "r": float(rr[i]), "D": float(dd[i]), "good": bool(good[i]),
                          "ex": bool(r_ex[i] or d_ex[i]), "r_ex": bool(r_ex[i]), "d_ex": bool(d_ex[i]),
                          "pred": {m: tuple(float(v[i]) for v in preds[m]) for m in needed}, "metrics": ok_metrics,
                          "range": (r_lo, r_hi, D_lo, D_hi)})
    return cands


def _preference(g) -> tuple:
    return tuple(PREFERENCE[k].index(g.key[k]) if g.key.get(k) in PREFERENCE[k] else 9 for k in PREFERENCE)


def _describe(c: dict[str, Any], results: pd.DataFrame | None, fits: Fits) -> dict[str, Any]:
    """A candidate as a setting: its group's key, ratio, data size and every fitted metric's prediction."""
    g = c["group"]
    for m in c["metrics"]:  # every fitted metric at the chosen point, not just the constrained ones
        if m not in c["pred"]:
            v = g.metrics[m].predict(np.array([c["D"]]), np.array([c["r"]]), ci=fits.settings.get("ci", 0.95))
            c["pred"][m] = tuple(float(x[0]) for x in v)
    return {**g.key, "params_ratio": round(c["r"], 4), "dataset_size": int(round(c["D"])),
            "nearest_target": _nearest_target(results, c["r"]), "extrapolated": c["ex"],
            "predicted": {m: {"mean": v[0], "low": v[1], "high": v[2]} for m, v in c["pred"].items()}}


def _infeasible(cands: list[dict], cons: list[Constraint], desc: list[str], notes: list[str],
                results: pd.DataFrame | None, fits: Fits) -> Recommendation:
    """Pass 4 when nothing qualifies: say so, with the best the laws predict on the first constraint."""
    head = cons[0] if cons else None
    msg = f"nothing in the fitted range (plus mild extrapolation) is predicted to meet {' and '.join(desc)}."
    best = None
    if head is not None:
        sign = 1 if head.kind == "min" else -1
        best = max(cands, key=lambda c: sign * c["pred"][head.metric][0])
        m, lo, hi = best["pred"][head.metric]
        msg += (f" Best predicted {metric_spec(head.metric).label} within the limits: {m:.3f} "
                f"{_iv(lo, hi)} at params ratio {best['r']:.2f}, {_fmt_D(best['D'])} examples "
                f"({best['group'].name}{', extrapolated' if best['ex'] else ''}).")
    setting = _describe(best, results, fits) if best else None
    return Recommendation(False, msg, desc, setting=setting, predicted=setting["predicted"] if setting else {},
                          notes=notes)


def _answer_text(best: dict[str, Any], cons: list[Constraint]) -> tuple[str, list[str], bool]:
    """Pass 5: the chosen setting in words, its extrapolation flags, and whether its intervals clear
    every constraint."""
    ex = []
    r_lo, r_hi, D_lo, D_hi = best["range"]
    if best["r_ex"]:
        ex.append(f"params ratio {best['r']:.3f} is below the harshest measured ratio {r_lo:.3f}")
    if best["d_ex"]:
        ex.append(f"{_fmt_D(best['D'])} examples is beyond the largest measured {_fmt_D(D_hi)}")
    conf = all(c.met(best["pred"][c.metric][1] if metric_spec(c.metric).higher_better
                     else best["pred"][c.metric][2]) for c in cons)
    parts = [f"{metric_spec(c.metric).label} {best['pred'][c.metric][0]:.3f} "
             f"{_iv(best['pred'][c.metric][1], best['pred'][c.metric][2])}" for c in cons]
    no_iv = any(not np.all(np.isfinite(best["pred"][c.metric][1:3])) for c in cons)
    msg = (f"{best['group'].name} at params ratio {best['r']:.2f} with {_fmt_D(best['D'])} training examples"
           + (f": predicted {', '.join(parts)}" if parts else "")
           + ("" if conf else " (not confident: no interval to check it against)" if no_iv else
              " (at the edge: the interval straddles a constraint; --confident asks for "
              "a setting whose whole interval clears it)")
           + (f". EXTRAPOLATED: {'; '.join(ex)}" if ex else ""))
    return msg, ex, conf


def _alternatives(best: dict[str, Any], good: list[dict], cons: list[Constraint], fits: Fits,
                  results: pd.DataFrame | None, top: int) -> list[dict[str, Any]]:
    """Pass 6: the best setting of up to ``top`` other groups, each compared with the answer."""
    seen, alts = {best["group"].name}, []
    for c in good[1:]:
        if c["group"].name in seen:
            continue
        seen.add(c["group"].name)
        alts.append({**_describe(c, results, fits), "vs_answer": _difference(best, c, cons, fits)})
        if len(alts) >= top:
            break
    return alts


def recommend(results: pd.DataFrame | None, fits: Fits, *, min_f1: float | None = None,
              max_params: float | None = None, min_mmlu: float | None = None, max_nll: float | None = None,
              max_data: float | None = None, params: float | None = None, confident: bool = False,
              f1_metric: str = "indomain.macro_f1", general_metric: str | None = None,
              supervision: str | None = None, method: str | None = None, schedule: str | None = None,
              n_grid: int = 40, top: int = 5) -> Recommendation:
    """Cheapest setting predicted to meet every constraint (see module docstring for "cheapest").

    ``confident=True`` requires the conservative end of the bootstrap interval to meet each constraint,
    not just the point prediction. ``max_params`` bounds ``params_ratio`` (counting embeddings); ``params``
    fixes it instead ("my student will have this size: how much data, which supervision?").
    """
    general_metric = general_metric or fits.settings.get("general_metric", "mmlu.acc")
    cons, desc = _constraints(f1_metric, general_metric, min_f1, min_mmlu, max_nll, max_params, max_data, params)
    notes: list[str] = []
    filters = {"supervision": supervision, "method": method, "schedule": schedule}
    cands = _candidates(fits, cons, filters, n_grid, params, max_params, max_data, confident, notes)
    if not cands:
        return Recommendation(False, "no fitted group can answer these constraints: "
                              + ("; ".join(notes) or "no groups match the filters"), desc, notes=notes)
    good = [c for c in cands if c["good"]]
    if confident and not good and any("--confident cannot check" in n for n in notes):
        return Recommendation(False, "--confident needs an interval on every constrained prediction, and the fits "
                              "have none here (exactly determined laws or no bootstrap draws): refusing rather than "
                              "answering from point predictions. Drop --confident for a point answer, or add data "
                              "sizes, ratios or seeds.", desc, notes=notes)
    if not good:
        return _infeasible(cands, cons, desc, notes, results, fits)
    # cheapest: inside the measured range first, then the smallest student, the least data, the simplest recipe
    good.sort(key=lambda c: (c["ex"], round(c["r"], 6), c["D"], _preference(c["group"])))
    best = good[0]
    setting = _describe(best, results, fits)
    msg, ex, conf = _answer_text(best, cons)
    alts = _alternatives(best, good, cons, fits, results, top)
    same = [a for a in alts if a["vs_answer"].get("indistinguishable")]
    if same:
        msg += (". Indistinguishable at this setting (interval of the difference contains 0): "
                + "; ".join(f"{a['supervision']}/{a['method']}/{a['schedule']} ({a['vs_answer']['text']})"
                            for a in same))
    return Recommendation(True, msg, desc, setting=setting, predicted=setting["predicted"], extrapolated=ex,
                          confident=conf, alternatives=alts, notes=notes)
