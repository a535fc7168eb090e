"""Robust fitting of the law forms, bootstrap intervals, model choice, extrapolation tests, collapse points.

For each group of results (supervision x method x schedule) and each metric:

1. every candidate form (:mod:`taskdistill.scaling.laws`) is fitted to the distance-to-ideal ``L`` by
   minimising a Huber loss on ``log L_pred - log L_obs`` (log space: relative errors, so a 0.01 miss on an
   error rate of 0.02 counts as much as 0.1 on 0.2; Huber: a single broken cell cannot drag the law), with
   multi-start bounded L-BFGS-B (the landscapes of sums of power laws have several basins);
2. **model choice** by held-out error: k-fold over *cells* (a cell = one (data size, ratio) point, all its
   seeds together, so a seed never helps predict its twin), the form with the lowest held-out log-RMSE wins;
3. **bootstrap** confidence intervals: rows (cells x seeds) are resampled with replacement within the group,
   every form is refitted (warm-started from the full fit), percentiles give the intervals. The same resampled
   rows are used for every metric of a group, so differences between metrics (the collapse gap) are paired;
4. **extrapolation test**: fit on the smaller data sizes and milder ratios only, predict the held-out largest
   data size and harshest ratio, report the errors in metric units;
5. **collapse point**: the ratio ``r`` at which the chosen law (at the group's largest data size) has lost half
   of the teacher-to-chance margin, with its bootstrap interval; censored values (no crossing in
   ``[0.01, 1]``) are counted at the ends of the range so an interval never hides them.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize
from threadpoolctl import threadpool_limits

from taskdistill.config import StrictModel
from taskdistill.scaling.laws import DEFAULT_FORMS, Form, UnderDetermined, get_form
from taskdistill.scaling.metrics import DEFAULT_METRICS, MetricSpec, metric_spec
from taskdistill.scaling.table import GROUP_BY, ResultsError, fit_rows, teacher_levels, validate

EPS = 1e-4  # smallest distance-to-ideal taken seriously (an F1 of 0.9999 is "perfect" for a log residual)
R_LOW = 0.01  # collapse points are searched in [R_LOW, 1]
FITS_VERSION = 1


class FitSettings(StrictModel):
    """Settings of a fit; recorded in the fits file and the report."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    forms: tuple[str, ...] = DEFAULT_FORMS
    group_by: tuple[str, ...] = GROUP_BY
    n_boot: int = 100
    n_starts: int = 12
    huber_delta: float = 0.1
    ci: float = 0.95
    cv_folds: int = 10
    collapse_fraction: float = 0.5
    seed: int = 0


# ----------------------------------------------------------------------------------------------- results


@dataclass
class FormFit:
    form: str
    status: str  # "ok" | "under-determined" | "failed"
    notes: list[str] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)
    ci: dict[str, list[float]] = field(default_factory=dict)
    n_free: int = 0
    loss: float | None = None
    cv: dict[str, Any] = field(default_factory=dict)
    extrapolation: dict[str, Any] = field(default_factory=dict)
    boot: list[list[float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def vector(self) -> np.ndarray:
        return np.array([self.params[n] for n in get_form(self.form).params], dtype=float)


@dataclass
class MetricFit:
    metric: str
    status: str  # "ok" | "under-determined"
    n_rows: int
    n_cells: int
    D_levels: list[float]
    r_levels: list[float]
    teacher: float | None
    chance: float | None
    forms: dict[str, FormFit] = field(default_factory=dict)
    chosen: str | None = None
    choice: str = ""
    collapse: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def spec(self) -> MetricSpec:
        return metric_spec(self.metric)

    def best(self) -> FormFit | None:
        return self.forms.get(self.chosen) if self.chosen else None

    def predict(self, D, r, form: str | None = None, ci: float = 0.95):
        """Predicted metric values at (D, r) with a pointwise bootstrap interval: (mean, low, high)."""
        ff = self.forms[form] if form else self.best()
        if ff is None or not ff.ok:
            raise ResultsError(f"{self.metric}: no usable fit ({self.status}; {'; '.join(self.notes)})")
        law = get_form(ff.form)
        D = np.asarray(D, dtype=float)
        r = np.asarray(r, dtype=float)
        spec = self.spec
        mean = spec.from_distance(law.predict(ff.vector(), D, r))
        boots = np.array(ff.boot, dtype=float).reshape(-1, len(law.params))
        boots = boots[np.all(np.isfinite(boots), axis=1)]
        if len(boots) < 2:
            return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
        with np.errstate(all="ignore"):
            preds = np.stack([spec.from_distance(law.predict(b, D.ravel(), r.ravel())) for b in boots])
        preds = preds[np.all(np.isfinite(preds), axis=1)]  # (np.nanquantile is ~50x slower than this)
        if len(preds) < 2:
            return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
        lo, hi = np.quantile(preds, [(1 - ci) / 2, 1 - (1 - ci) / 2], axis=0)
        return mean, lo.reshape(mean.shape), hi.reshape(mean.shape)


@dataclass
class GroupFit:
    key: dict[str, str]
    n_rows: int
    metrics: dict[str, MetricFit] = field(default_factory=dict)
    gaps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " / ".join(f"{v}" for v in self.key.values())


@dataclass
class Fits:
    settings: dict[str, Any]
    groups: list[GroupFit]
    teacher: dict[str, float]
    n_rows: int
    n_fitted_rows: int
    n_failed: int
    source: str
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    seconds: float = 0.0
    version: int = FITS_VERSION

    # -- lookup
    def group(self, **key: str) -> GroupFit:
        for g in self.groups:
            if all(g.key.get(k) == v for k, v in key.items()):
                return g
        raise KeyError(f"no fitted group with {key}; have {[g.key for g in self.groups]}")

    def predict(self, key: dict[str, str], metric: str, D, r):
        return self.group(**key).metrics[metric].predict(D, r, ci=self.settings.get("ci", 0.95))

    # -- persistence
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: str | Path) -> Path:
        from taskdistill.cache import atomic_write_text

        return atomic_write_text(path, json.dumps(_jsonable(self.to_dict()), indent=1) + "\n")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fits:
        if d.get("version") != FITS_VERSION:
            raise ResultsError(f"fits file version {d.get('version')!r} is not {FITS_VERSION}; refit")
        groups = []
        for g in d["groups"]:
            metrics = {}
            for name, m in g["metrics"].items():
                forms = {fn: FormFit(**ff) for fn, ff in m["forms"].items()}
                metrics[name] = MetricFit(**{**m, "forms": forms})
            groups.append(GroupFit(key=g["key"], n_rows=g["n_rows"], metrics=metrics, gaps=g["gaps"]))
        return cls(**{**d, "groups": groups})

    @classmethod
    def load(cls, path: str | Path) -> Fits:
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ResultsError(f"{path}: not a readable fits file: {exc}") from exc


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# ----------------------------------------------------------------------------------------------- fitting


def _starts(form: Form, L, r, n: int, rng: np.random.Generator, extra=()) -> list[np.ndarray]:
    box = form.init_box(L, r)
    out = [np.asarray(x, dtype=float) for x in extra]
    for _ in range(n):
        out.append(np.array([math.exp(rng.uniform(math.log(max(lo, 1e-12)), math.log(max(hi, 2e-12))))
                             if log else rng.uniform(lo, hi) for lo, hi, log in box]))
    return out


def fit_law(form: Form, D, r, L, fixed: dict[str, float], *, starts: list[np.ndarray], delta: float = 0.1):
    """Minimise the Huber loss of log residuals over the free parameters; returns (params, loss).

    ``fixed`` pins parameters by name; ``starts`` are full parameter vectors (fixed entries are ignored).
    The loss is the Huber sum divided by ``delta**2`` so that L-BFGS-B's absolute tolerances bite at a
    sensible scale whatever the size of the residuals.
    """
    names = form.params
    free = np.array([i for i, n in enumerate(names) if n not in fixed], dtype=int)
    base = np.array([fixed.get(n, np.nan) for n in names], dtype=float)
    all_bounds = form.bounds(L)
    bounds = [all_bounds[i] for i in free]
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    logL = np.log(np.maximum(L, EPS))
    D = np.asarray(D, dtype=float)
    r = np.asarray(r, dtype=float)

    def objective(x):
        p = base.copy()
        p[free] = x
        with np.errstate(all="ignore"):
            pred = form.predict(p, D, r)
            if not np.all(np.isfinite(pred)) or np.any(pred <= 0):
                return 1e12, np.zeros_like(x)
            res = np.log(pred) - logL
            a = np.abs(res)
            f = np.where(a <= delta, 0.5 * res**2, delta * (a - 0.5 * delta)).sum() / delta**2
            psi = np.clip(res, -delta, delta) / delta**2  # d huber / d res
            grad = ((psi / pred)[:, None] * form.jac(p, D, r)[:, free]).sum(axis=0)
        if not np.all(np.isfinite(grad)):
            return 1e12, np.zeros_like(x)
        return float(f), grad

    if len(free) == 0:
        return base, objective(np.array([]))[0]
    best_x, best_f = None, np.inf
    for x0 in starts:
        x0f = np.clip(np.asarray(x0, dtype=float)[free], lo, hi)
        if not np.all(np.isfinite(x0f)):
            continue
        res = minimize(objective, x0f, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 1000})
        if np.isfinite(res.fun) and res.fun < best_f:
            best_x, best_f = res.x, float(res.fun)
    if best_x is None:
        raise RuntimeError(f"{form.name}: every start failed")
    p = base.copy()
    p[free] = best_x
    return p, best_f


def _levels(x, decimals: int) -> np.ndarray:
    return np.unique(np.round(np.asarray(x, dtype=float), decimals))


def _cells(D, r) -> np.ndarray:
    """Integer cell id per row: one id per distinct (data size, ratio)."""
    keys = np.round(np.asarray(D, dtype=float), 0) * 10.0 + np.round(np.asarray(r, dtype=float), 3)
    _, ids = np.unique(keys, return_inverse=True)
    return ids


def _support(form: Form, D, r, spec: MetricSpec):
    """(fixed dict, notes, n_free, n_cells) or raise UnderDetermined."""
    n_D = len(_levels(D, 0))
    n_r = len(_levels(r, 3))
    sup = form.support(n_D, n_r, spec.chance_distance)
    n_free = len(form.params) - len(sup.fixed)
    n_cells = len(np.unique(_cells(D, r)))
    if n_free > n_cells:
        raise UnderDetermined(f"{form.name}: {n_free} free parameters but only {n_cells} distinct cells")
    return sup.fixed, list(sup.notes), n_free, n_cells


def _metric_err(spec: MetricSpec, law: Form, p, D, r, y):
    pred_L = law.predict(p, D, r)
    pred_y = spec.from_distance(pred_L)
    res_log = np.log(np.maximum(pred_L, 1e-12)) - np.log(np.maximum(spec.distance(y), EPS))
    return pred_y - y, res_log


def _summ(err, res_log) -> dict[str, float]:
    return {"n": int(len(err)), "mae": float(np.mean(np.abs(err))), "bias": float(np.mean(err)),
            "rmse_log": float(np.sqrt(np.mean(res_log**2)))}


def _cross_validate(law, spec, D, r, y, L, fixed, p_full, n_free, settings, rng) -> dict[str, Any]:
    cells = _cells(D, r)
    n_cells = cells.max() + 1
    k = min(settings.cv_folds, n_cells)
    fold_of_cell = rng.permutation(n_cells) % k
    fold = fold_of_cell[cells]
    errs, logs, used = [], [], 0
    for f in range(k):
        tr, te = fold != f, fold == f
        if len(np.unique(cells[tr])) <= n_free or not te.any():
            continue
        starts = _starts(law, L[tr], r[tr], 1, rng, extra=[p_full])
        try:
            p, _ = fit_law(law, D[tr], r[tr], L[tr], fixed, starts=starts, delta=settings.huber_delta)
        except RuntimeError:
            continue
        e, lr = _metric_err(spec, law, p, D[te], r[te], y[te])
        errs.append(e)
        logs.append(lr)
        used += 1
    if not used:
        return {"folds": 0, "note": "too few cells for a held-out check"}
    s = _summ(np.concatenate(errs), np.concatenate(logs))
    return {"folds": used, "rmse_log": s["rmse_log"], "mae": s["mae"], "bias": s["bias"]}


def _extrapolate(law, spec, D, r, y, L, settings, rng) -> dict[str, Any]:
    Dmax, rmin = float(np.max(D)), float(np.min(r))
    far_D = np.isclose(D, Dmax)
    harsh = np.isclose(r, rmin, atol=5e-4)
    tr = ~far_D & ~harsh
    if len(_levels(D, 0)) < 2 or len(_levels(r, 3)) < 2:
        return {"status": "not possible", "note": "needs >= 2 data sizes and >= 2 ratios"}
    try:
        fixed, notes, n_free, n_cells = _support(law, D[tr], r[tr], spec)
    except UnderDetermined as exc:
        return {"status": "not possible", "note": f"training part: {exc}"}
    starts = _starts(law, L[tr], r[tr], settings.n_starts, rng)
    p, _ = fit_law(law, D[tr], r[tr], L[tr], fixed, starts=starts, delta=settings.huber_delta)
    out: dict[str, Any] = {"status": "ok", "train_rows": int(tr.sum()), "train_cells": n_cells,
                           "D_max": Dmax, "r_min": rmin, "notes": notes,
                           "train_D_max": float(np.max(D[tr])), "train_r_min": float(np.min(r[tr]))}
    for name, mask in (("largest_D", far_D & ~harsh), ("harshest_r", harsh & ~far_D), ("corner", far_D & harsh)):
        if mask.any():
            out[name] = _summ(*_metric_err(spec, law, p, D[mask], r[mask], y[mask]))
    return out


def collapse_point(predict, target: float, higher_better: bool, r_low: float = R_LOW) -> tuple[float, str]:
    """Largest ``r`` in ``[r_low, 1]`` where ``predict(r)`` gets worse than ``target``.

    Returns ``(r, status)``; status ``ok``, ``at_1`` (already worse than the target at r = 1: reported as 1.0)
    or ``below_range`` (never worse down to ``r_low``: reported as 0.0, i.e. "below r_low").
    """
    grid = np.linspace(1.0, r_low, 600)
    with np.errstate(all="ignore"):
        m = np.asarray(predict(grid), dtype=float)
    worse = (m < target) if higher_better else (m > target)
    worse &= np.isfinite(m)
    if worse[0]:
        return 1.0, "at_1"
    if not worse.any():
        return 0.0, "below_range"
    i = int(np.argmax(worse))
    a, b = grid[i], grid[i - 1]

    def f(x):
        return float(np.asarray(predict(np.array([x])))[0]) - target

    try:
        return float(brentq(f, a, b, xtol=1e-6)), "ok"
    except ValueError:
        return float((a + b) / 2), "ok"


def _collapse(mf: MetricFit, D_star: float, settings: FitSettings, teacher_fallback: str) -> dict[str, Any] | None:
    spec = mf.spec
    ff = mf.best()
    if spec.chance is None or ff is None:
        return None
    law = get_form(ff.form)
    teacher = mf.teacher
    note = ""
    if teacher is None:
        teacher = float(spec.from_distance(law.predict(ff.vector(), np.array([D_star]), np.array([1.0])))[0])
        note = teacher_fallback
    r_min = float(min(mf.r_levels))
    margin = (teacher - spec.chance) if spec.higher_better else (spec.chance - teacher)
    if not margin > 0:
        # No margin to lose (e.g. a small teacher at chance on MMLU, or too few questions to tell):
        # "half the margin" would put the collapse at r = 1 and call it a finding.
        return {"r": float("nan"), "status": "teacher_at_chance", "ci": [float("nan")] * 2, "target": float("nan"),
                "teacher": float(teacher), "chance": float(spec.chance), "D": float(D_star), "form": ff.form,
                "extrapolated": False, "observed_r_min": r_min, "far": False, "censored_boot": None,
                "note": f"the teacher ({teacher:.3f}) is not better than chance ({spec.chance:.3f}) on this "
                        "metric: no margin to lose, no collapse point", "boot": []}
    target = teacher - settings.collapse_fraction * (teacher - spec.chance)

    def at(p):
        return lambda rr: spec.from_distance(law.predict(p, np.full_like(rr, D_star), rr))

    r_c, status = collapse_point(at(ff.vector()), target, spec.higher_better)
    boots = []
    for b in ff.boot:
        b = np.asarray(b, dtype=float)
        boots.append(collapse_point(at(b), target, spec.higher_better)[0] if np.all(np.isfinite(b)) else np.nan)
    boots_a = np.array(boots, dtype=float)
    fin = boots_a[np.isfinite(boots_a)]
    q = (1 - settings.ci) / 2
    ci = [float(np.quantile(fin, q)), float(np.quantile(fin, 1 - q))] if len(fin) >= 2 else [np.nan, np.nan]
    return {"r": r_c, "status": status, "ci": ci, "target": float(target), "teacher": float(teacher),
            "chance": float(spec.chance), "D": float(D_star), "form": ff.form,
            "extrapolated": bool(status == "ok" and r_c < r_min - 1e-9), "observed_r_min": r_min,
            "far": bool(status == "ok" and r_c < 0.8 * r_min),
            "censored_boot": float(np.mean((fin <= 0.0) | (fin >= 1.0))) if len(fin) else None,
            "note": note, "boot": [float(x) for x in boots_a]}


def fit_metric(D, r, y, metric: str, *, teacher: float | None = None, settings: FitSettings | None = None,
               boot_idx: np.ndarray | None = None, rng: np.random.Generator | None = None) -> MetricFit:
    """Fit every candidate form of one metric on arrays (rows with NaN metric values are ignored).

    ``boot_idx`` (n_boot x n_rows indices into these rows) lets a caller share resamples across metrics;
    by default rows are resampled here.
    """
    # L-BFGS-B calls BLAS on tiny vectors; a multi-threaded BLAS spends 30x longer spinning threads than
    # computing on a shared CPU, so the whole fit runs single-threaded.
    with threadpool_limits(1):
        return _fit_metric(D, r, y, metric, teacher=teacher, settings=settings, boot_idx=boot_idx, rng=rng)


def _fit_metric(D, r, y, metric, *, teacher, settings, boot_idx, rng) -> MetricFit:
    settings = settings or FitSettings()
    rng = rng or np.random.default_rng(settings.seed)
    spec = metric_spec(metric)
    D = np.asarray(D, dtype=float)
    r = np.asarray(r, dtype=float)
    y = np.asarray(y, dtype=float)
    n_all = len(y)
    valid = np.isfinite(y) & np.isfinite(D) & np.isfinite(r)
    if boot_idx is None:
        boot_idx = rng.integers(0, n_all, size=(settings.n_boot, n_all)) if n_all else np.zeros((0, 0), int)
    Dv, rv, yv = D[valid], r[valid], y[valid]
    Lv = np.maximum(spec.distance(yv), EPS)
    mf = MetricFit(metric=metric, status="ok", n_rows=int(valid.sum()),
                   n_cells=int(len(np.unique(_cells(Dv, rv)))) if len(yv) else 0,
                   D_levels=[float(x) for x in _levels(Dv, 0)], r_levels=[float(x) for x in _levels(rv, 3)],
                   teacher=teacher, chance=spec.chance)
    if (spec.distance(yv) < -1e-9).any():
        mf.notes.append(f"{int((spec.distance(yv) < -1e-9).sum())} value(s) beyond the ideal {spec.ideal}: clipped")
    if len(yv) < 2:
        mf.status = "under-determined"
        mf.notes.append(f"only {len(yv)} finished row(s) with a value")
        return mf
    for fname in settings.forms:
        law = get_form(fname)
        try:
            fixed, notes, n_free, n_cells = _support(law, Dv, rv, spec)
        except UnderDetermined as exc:
            mf.forms[fname] = FormFit(fname, "under-determined", notes=[str(exc)])
            continue
        ff = FormFit(fname, "ok", notes=notes, fixed=sorted(fixed), n_free=n_free)
        if n_free == n_cells:
            ff.notes.append("exactly determined (as many free parameters as cells): no held-out check")
        try:
            p, loss = fit_law(law, Dv, rv, Lv, fixed, starts=_starts(law, Lv, rv, settings.n_starts, rng),
                              delta=settings.huber_delta)
        except RuntimeError as exc:
            mf.forms[fname] = FormFit(fname, "failed", notes=[str(exc)])
            continue
        ff.params = {n: float(v) for n, v in zip(law.params, p, strict=True)}
        ff.loss = loss
        ff.cv = _cross_validate(law, spec, Dv, rv, yv, Lv, fixed, p, n_free, settings, rng)
        ff.extrapolation = _extrapolate(law, spec, Dv, rv, yv, Lv, settings, rng)
        # bootstrap: resample rows of the group, keep those with a value, refit warm-started from the full fit
        boots = []
        if len(yv) <= n_free:  # every resample is fitted exactly: the spread would be zero, not certainty
            ff.notes.append("no bootstrap interval: no more rows than free parameters")
            boot_idx_form = boot_idx[:0]
        else:
            boot_idx_form = boot_idx
        for idx in boot_idx_form:
            idx = idx[valid[idx]]
            if len(idx) < 2:
                boots.append([np.nan] * len(p))
                continue
            try:
                pb, _ = fit_law(law, D[idx], r[idx], np.maximum(spec.distance(y[idx]), EPS), fixed,
                                starts=[p], delta=settings.huber_delta)
                boots.append([float(v) for v in pb])
            except RuntimeError:
                boots.append([np.nan] * len(p))
        ff.boot = boots
        B = np.array(boots, dtype=float).reshape(-1, len(p))
        B = B[np.all(np.isfinite(B), axis=1)]
        q = (1 - settings.ci) / 2
        if len(B) >= 2:
            ff.ci = {n: [float(np.quantile(B[:, i], q)), float(np.quantile(B[:, i], 1 - q))]
                     for i, n in enumerate(law.params) if n not in fixed}
        mf.forms[fname] = ff
    ok = {k: v for k, v in mf.forms.items() if v.ok}
    if not ok:
        mf.status = "under-determined"
        mf.notes.append("no form could be fitted: " + "; ".join(n for f in mf.forms.values() for n in f.notes))
        return mf
    with_cv = {k: v for k, v in ok.items() if v.cv.get("folds")}
    if with_cv:
        mf.chosen = min(with_cv, key=lambda k: with_cv[k].cv["rmse_log"])
        mf.choice = f"lowest held-out log-RMSE over {with_cv[mf.chosen].cv['folds']}-fold cross-validation by cell"
    else:
        mf.chosen = min(ok, key=lambda k: (ok[k].n_free, ok[k].loss))
        mf.choice = "no held-out check possible (too few cells): fewest free parameters, then lowest loss"
        mf.notes.append("model choice not validated on held-out cells")
    mf.collapse = _collapse(mf, float(np.max(Dv)), settings,
                            "no teacher row: teacher level taken from the law at r = 1")
    return mf


def _gaps(g: GroupFit, settings: FitSettings) -> list[dict[str, Any]]:
    """Paired bootstrap of collapse(general metric) - collapse(in-domain metric): > 0 means general knowledge
    collapses at a milder compression than in-domain quality."""
    out = []
    def has(m):
        return m.collapse and m.collapse["status"] != "teacher_at_chance"

    gen = [m for m in g.metrics.values() if has(m) and m.spec.domain == "general"]
    ind = [m for m in g.metrics.values() if has(m) and m.spec.domain == "in-domain"]
    q = (1 - settings.ci) / 2
    for a in gen:
        for b in ind:
            ba, bb = np.array(a.collapse["boot"], float), np.array(b.collapse["boot"], float)
            diff = ba - bb
            diff = diff[np.isfinite(diff)]
            ci = [float(np.quantile(diff, q)), float(np.quantile(diff, 1 - q))] if len(diff) >= 2 else [np.nan] * 2
            out.append({"general": a.metric, "indomain": b.metric, "gap": a.collapse["r"] - b.collapse["r"],
                        "ci": ci, "p_general_first": float(np.mean(diff > 0)) if len(diff) else None,
                        "r_general": a.collapse["r"], "r_indomain": b.collapse["r"]})
    return out


def fit_table(df: pd.DataFrame, settings: FitSettings | None = None, *, progress: bool = False) -> Fits:
    """Fit every metric of every group of a results table.

    Raises :class:`ResultsError` when nothing at all can be fitted (e.g. fewer than two finished student
    rows); under-determined groups/metrics are kept with a note instead, so a small grid still reports.
    """
    from datetime import UTC, datetime

    from taskdistill.info import versions

    settings = settings or FitSettings()
    t0 = time.perf_counter()
    if "source" not in df.attrs:
        df.attrs["source"] = "results table"
    df = validate(df)
    rows = fit_rows(df)
    teacher = teacher_levels(df)
    n_failed = int((df["status"] != "done").sum())
    metrics = [m for m in settings.metrics if m in df.columns and rows[m].notna().any()] if len(rows) else []
    notes = []
    absent = [m for m in settings.metrics if m not in metrics]
    if absent:
        notes.append(f"no values for {', '.join(absent)}: not fitted")
    if len(rows) < 2 or not metrics:
        raise ResultsError(f"{df.attrs.get('source')}: too few points to fit: {len(rows)} finished student row(s) "
                           f"with metric values (need >= 2; {n_failed} failed/unfinished rows ignored)")
    for col in settings.group_by:
        if col not in rows.columns:
            raise ResultsError(f"group-by column {col!r} is not in the results table")
    groups = []
    grouped = list(rows.groupby(list(settings.group_by), sort=True, dropna=False))
    tasks = [(k, g) for k, g in grouped]
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("fitting scaling laws", total=len(tasks) * len(metrics))
    try:
        for gi, (key, g) in enumerate(tasks):
            key = key if isinstance(key, tuple) else (key,)
            gkey = {c: str(v) for c, v in zip(settings.group_by, key, strict=True)}
            rng = np.random.default_rng([settings.seed, gi])
            n = len(g)
            boot_idx = rng.integers(0, n, size=(settings.n_boot, n))
            gf = GroupFit(key=gkey, n_rows=n)
            D = g["dataset_size"].to_numpy(float)
            r = g["params_ratio"].to_numpy(float)
            for m in metrics:
                gf.metrics[m] = fit_metric(D, r, g[m].to_numpy(float), m, teacher=teacher.get(m),
                                           settings=settings, boot_idx=boot_idx, rng=rng)
                if bar:
                    bar.advance(task)
            gf.gaps = _gaps(gf, settings)
            groups.append(gf)
    finally:
        if bar:
            bar.stop()
    if not any(m.status == "ok" for g in groups for m in g.metrics.values()):
        raise ResultsError(f"{df.attrs.get('source')}: too few points to fit any law in any group: "
                           + "; ".join(f"{g.name}: {g.n_rows} rows" for g in groups))
    return Fits(settings=settings.model_dump(mode="json"), groups=groups, teacher=teacher, n_rows=len(df),
                n_fitted_rows=len(rows), n_failed=n_failed, source=str(df.attrs.get("source")), notes=notes,
                versions=versions(), created=datetime.now(UTC).isoformat(timespec="seconds"),
                seconds=round(time.perf_counter() - t0, 2))
