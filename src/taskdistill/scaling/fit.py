"""Robust fitting of the law forms, bootstrap intervals, model choice, extrapolation tests, collapse points.

For each group of results (supervision x method x schedule) and each metric:

1. every candidate form (:mod:`taskdistill.scaling.laws`) is fitted to the distance-to-ideal ``L`` by
   minimising a Huber loss on ``log L_pred - log L_obs`` (log space: relative errors; Huber: a single broken
   cell cannot drag the law), with multi-start bounded L-BFGS-B. Bounded metrics are floored at chance
   (the prediction never goes past the chance-level distance), and the sign of the data-size term of a
   general-knowledge metric is free (more in-domain data may make general knowledge *worse*);
2. **model choice** by held-out error: k-fold over *cells* (a cell = one (data size, ratio) point, all its
   seeds together), **one partition shared by every form**, each fold refitted from its own random starts
   (never from the full-data fit, which saw the held-out cell). Forms within ``tie_tol`` of the best are a
   tie and are reported as such;
3. **parametric cluster bootstrap**: the unit is the seed-chain (every cell of one seed shares its
   pruning/distillation lineage). Log residuals of the fit are split into a seed-chain offset and a
   within-chain part (one-way variance components; the within part contains the test-item noise, floored at
   the per-cell standard errors when the table has ``<metric>_stderr``); each draw uses these variances as
   estimated, draws new chain offsets and item noise around the fitted law, redraws the teacher level from its
   standard error, and refits from several starts (the full fit plus random ones). A variance estimated from
   2-3 seed-chains is itself very uncertain, so every quantity's draws are then widened around its estimate by
   ``t_nu / z``, with Satterthwaite's effective degrees of freedom ``nu`` from the share of the quantity's
   bootstrap variance that the chain means explain (:func:`_calibrate`; redrawing the variances instead
   over-widened the intervals in simulation: :data:`VARIANCE_DRAW`). Model-choice uncertainty enters the
   collapse interval by mixing the draws of every fitted form, weighted by held-out fit. Intervals are
   percentiles read at the order-statistic positions ``q (B + 1)`` (a parameter whose draws pile up at the
   optimiser's bound gets the one-sided ``[bound, 95 % quantile]``); a parameter the draws cannot pin down
   (its term has no detectable effect, a knee sharper than the grid, a flat profile) gets no interval and a
   note saying why (:func:`_not_identified`);
4. **extrapolation test**: fit on the smaller data sizes and milder ratios only, predict the held-out largest
   data size and harshest ratio, report the errors in metric units;
5. **collapse point**: the ratio ``r`` at which the law (at the group's largest data size) has lost half of
   the teacher-to-chance margin. Computed only when the teacher is at least ``min_margin_se`` standard errors
   above chance; a crossing outside the measured ratios is *censored* and printed as a bound.

An exactly determined fit (as many free parameters as cells) passes through the cell means: it gets no
interval, and the report draws no finding from it.
"""

from __future__ import annotations

import gzip
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize
from scipy.special import digamma
from scipy.stats import chi2, norm
from scipy.stats import t as student_t
from threadpoolctl import threadpool_limits

from taskdistill.config import StrictModel
from taskdistill.scaling.laws import DEFAULT_FORMS, Form, UnderDetermined, get_form
from taskdistill.scaling.metrics import DEFAULT_GENERAL, DEFAULT_METRICS, MetricSpec, metric_spec
from taskdistill.scaling.table import GROUP_BY, ResultsError, fit_rows, table_hash, teacher_levels, validate

EPS = 1e-4  # smallest distance-to-ideal taken seriously (an F1 of 0.9999 is "perfect" for a log residual)
R_LOW = 0.01  # collapse points are searched in [R_LOW, 1]
MAX_LOG_VAR = 4.0  # largest variance (log space) a bootstrap draw may use: sd 2 = a factor of 7 either way
LEAK = 0.05  # slope (in log-log) of the floor at chance inside the optimiser
FITS_VERSION = 6  # 6: plug-in variances with a Satterthwaite small-sample widening, sequential no-effect test; 5: no-effect test of the data-size term, median-unbiased between-chain redraw; 4: non-finite floats saved as "nan"/"inf"
# bootstrap intervals: "percentile", or "bc" / "basic" (measured worse on simulated grids: docs/scaling.md)
INTERVAL = "percentile"
COLLAPSE_INTERVAL = "percentile"  # the collapse interval (model-averaged draws)
# bootstrap variance components: "satterthwaite" (plugged in, then every quantity's draws widened by t_nu / z for
# the variances' uncertainty: _calibrate), "median" (the within-chain variance redrawn from its scaled inverse
# chi-square; the between-chain one too, but scaled so that its draws' median, not mean, is the estimate), "chi2"
# (both redrawn, mean-scaled), "log" (as "median", scaled so that the draws' geometric mean is the estimate),
# "within" (only the within one), "between" (only the between one), "plugin" (neither, no widening).
# Measured by bench/coverage.py (docs/scaling.md): "chi2" over-covers the collapse and knee (98.5-99.5 %) since
# a variance estimated from 2 degrees of freedom (3 seed-chains) has an infinite-mean inverse; "within"
# under-covers the collapse at high noise (89.5 %); "median" over-covers where the chain offsets weigh most
# (98.5-99.5 %): the redrawn variances' tail decides the interval's ends; "satterthwaite" keeps every cell in
# 90-98 %.
VARIANCE_DRAW = "satterthwaite"
# the interval of a term's effect over the measured range: bias-corrected, since a fitted effect is pulled away
# from 0 by the choice of its exponent (percentile: 89.5 % coverage of a zero effect; bc: 91-94.5 %)
EFFECT_INTERVAL = "bc"
# a parameter whose bootstrap draws pile up at the optimiser's bound (at least (1 - ci) / 2 of them on it):
# "two-sided" keeps the equal-tailed interval (its end at the bound, so it covers more than ci); "one-sided"
# reports [bound, ci quantile] instead, a bound at level ci (bench/coverage.py --bound-interval; docs/scaling.md)
BOUND_INTERVAL = "one-sided"
# the optimiser's tolerances for the bootstrap and cross-validation refits (the full fit keeps scipy's defaults,
# ftol 2.2e-9, gtol 1e-5): bench/scaling_fit.py finds the same loss and parameters within 1e-5 (relative) of the
# full fit's on a 12-start fit; refits that start at the full fit stop much sooner
REFIT_TOL = {"ftol": 1e-6, "gtol": 1e-4}


class FitSettings(StrictModel):
    """Settings of a fit; recorded in the fits file and the report."""

    metrics: tuple[str, ...] = DEFAULT_METRICS
    forms: tuple[str, ...] = DEFAULT_FORMS
    group_by: tuple[str, ...] = GROUP_BY
    n_boot: int = 100
    n_starts: int = 12
    boot_starts: int = 3  # starts per bootstrap refit: the full fit + (boot_starts - 1) random ones
    cv_starts: int = 4  # random starts per cross-validation fold (folds never start from the full fit)
    huber_delta: float = 0.1
    ci: float = 0.95
    cv_folds: int = 10  # < 2: no cross-validation (model choice by fewest parameters, then loss)
    extrapolate: bool = True  # run the extrapolation test
    tie_tol: float = 0.02  # forms whose held-out log-RMSE is within 2 % of the best are a tie
    collapse_fraction: float = 0.5
    min_margin_se: float = 4.0  # a collapse point needs the teacher >= this many SE above chance
    general_metric: str = DEFAULT_GENERAL  # the general-knowledge metric of findings and recommendations
    task: str = "finheadlines"  # chance levels of the in-domain metrics (a task name or YAML path)
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
    boot_teacher: list[float] = field(default_factory=list)  # the teacher level drawn with each bootstrap fit
    boot_chain: list[list[float]] = field(default_factory=list)  # per draw: the mean drawn log-noise of each chain
    boot_df: list[float] = field(default_factory=list)  # [between-chain df, within-chain df] of the variances drawn
    exact: bool = False  # as many free parameters as cells: passes through the cell means, no interval
    weight: float = 0.0  # share of this form in the model-averaged collapse interval
    not_identified: dict[str, str] = field(default_factory=dict)  # free parameter -> why it has no interval
    effects: dict[str, list[float]] = field(default_factory=dict)  # term -> [effect over the measured range, lo, hi]

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def vector(self) -> np.ndarray:
        return np.array([self.params[n] for n in get_form(self.form).params], dtype=float)

    def chain_means(self) -> np.ndarray | None:
        """Per bootstrap draw, the mean drawn log-noise of each seed-chain (None: no small-sample widening)."""
        if not self.boot_chain or len(self.boot_chain) != len(self.boot):
            return None
        return np.array(self.boot_chain, dtype=float).reshape(len(self.boot), -1)

    def finite_draws(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The bootstrap parameter draws with every value finite, and their chain means (or None)."""
        B = np.array(self.boot, dtype=float).reshape(-1, len(get_form(self.form).params))
        keep = np.all(np.isfinite(B), axis=1)
        Z = self.chain_means()
        return B[keep], None if Z is None else Z[keep]


def predict_L(law: Form, p, D, r, cap: float | None = None) -> np.ndarray:
    """The law's distance to ideal, floored at chance (``cap`` = chance-level distance) for bounded metrics."""
    L = law.predict(np.asarray(p, dtype=float), np.asarray(D, dtype=float), np.asarray(r, dtype=float))
    return L if cap is None or "Lc" in law.params else np.minimum(L, cap)


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
    teacher_stderr: float | None = None
    n_seeds: int = 0
    tied: list[str] = field(default_factory=list)

    @property
    def spec(self) -> MetricSpec:
        return metric_spec(self.metric, chance=self.chance)

    @property
    def cap(self) -> float | None:
        return self.spec.chance_distance

    def best(self) -> FormFit | None:
        return self.forms.get(self.chosen) if self.chosen else None

    @property
    def identified(self) -> bool:
        """A fit with an interval: the chosen form is not exactly determined and has bootstrap draws (its
        predictions and collapse point have intervals even when some parameters are not identified)."""
        ff = self.best()
        return bool(self.status == "ok" and ff is not None and not ff.exact and (ff.ci or ff.not_identified))

    def draws(self, D, r, form: str | None = None, ci: float = 0.95) -> np.ndarray:
        """Bootstrap draws of the predicted metric at (D, r): shape (n_draws, n_points) (0 draws: no interval).
        With a small-sample calibration (:func:`_calibrate`) the draws are widened for the level ``ci``."""
        ff = self.forms[form] if form else self.best()
        law = get_form(ff.form)
        D = np.atleast_1d(np.asarray(D, dtype=float)).ravel()
        r = np.atleast_1d(np.asarray(r, dtype=float)).ravel()
        boots, Z = ff.finite_draws()
        if len(boots) < 2:
            return np.zeros((0, len(D)))
        spec = self.spec
        with np.errstate(all="ignore"):
            Ls = np.stack([predict_L(law, b, D, r, self.cap) for b in boots])
            keep = np.all(np.isfinite(Ls), axis=1)
            Ls = _calibrate(Ls[keep], predict_L(law, ff.vector(), D, r, self.cap), None if Z is None else Z[keep],
                            ff.boot_df, ci, 0.0, np.inf if self.cap is None else self.cap)
            preds = spec.from_distance(Ls)
        return preds[np.all(np.isfinite(preds), axis=1)]

    def predict(self, D, r, form: str | None = None, ci: float = 0.95):
        """Predicted metric values at (D, r) with a pointwise bootstrap interval: (mean, low, high)."""
        ff = self.forms[form] if form else self.best()
        if ff is None or not ff.ok:
            raise ResultsError(f"{self.metric}: no usable fit ({self.status}; {'; '.join(self.notes)})")
        law = get_form(ff.form)
        D = np.asarray(D, dtype=float)
        r = np.asarray(r, dtype=float)
        mean = self.spec.from_distance(predict_L(law, ff.vector(), D, r, self.cap))
        preds = self.draws(D, r, ff.form, ci)
        if len(preds) < 2:
            return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
        lo, hi = np.quantile(preds, [(1 - ci) / 2, 1 - (1 - ci) / 2], axis=0, method="weibull")
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
    task: str = "finheadlines"
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    table_hash: str = ""  # the validated results table these fits were computed from
    task_hash: str = ""

    def check_source(self, df: pd.DataFrame, task, where: str | Path = "fits") -> None:
        """Refuse fits computed from another results table or for another task than ``df`` / ``task``."""
        from taskdistill.scaling.table import table_hash, validate

        if self.table_hash != table_hash(validate(df)):
            raise ResultsError(f"{where}: these fits were computed from another results table "
                               f"({self.source}); refit this table (leave --fits out)")
        if task is not None and self.task_hash and self.task_hash != task.hash:
            raise ResultsError(f"{where}: these fits were computed for task {self.task!r}, not {task.name!r}")

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
        """Write the fits as JSON; gzip-compressed (reproducibly: no timestamp) when ``path`` ends in ``.gz``."""
        from taskdistill.cache import atomic_write_bytes

        text = (json.dumps(_jsonable(self.to_dict()), indent=1) + "\n").encode()
        return atomic_write_bytes(path, gzip.compress(text, mtime=0) if str(path).endswith(".gz") else text)

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
            raw = path.read_bytes()
            return cls.from_dict(_unjson(json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)))
        except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            raise ResultsError(f"{path}: not a readable fits file: {exc}") from exc


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)  # "nan" / "inf" / "-inf": strict JSON that reads back as the same float (_unjson)
    return obj


NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def _unjson(obj):
    """Inverse of ``_jsonable`` for the non-finite floats (a saved fit reads back with NaN, not None)."""
    if isinstance(obj, dict):
        return {k: _unjson(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unjson(v) for v in obj]
    if isinstance(obj, str) and obj in NONFINITE:
        return NONFINITE[obj]
    return obj


# ----------------------------------------------------------------------------------------------- fitting


def _starts(form: Form, L, r, n: int, rng: np.random.Generator, extra=(), signed=()) -> list[np.ndarray]:
    """``extra`` starts, then ``n`` random ones from the form's box (``signed`` parameters: random sign,
    alternating so that both signs are tried)."""
    box = form.init_box(L, r)
    out = [np.asarray(x, dtype=float) for x in extra]
    flip = np.array([name in signed for name in form.params])
    for i in range(n):
        x = np.array([math.exp(rng.uniform(math.log(max(lo, 1e-12)), math.log(max(hi, 2e-12))))
                      if log else rng.uniform(lo, hi) for lo, hi, log in box])
        out.append(np.where(flip & (i % 2 == 1), -x, x))
    return out


def fit_law(form: Form, D, r, L, fixed: dict[str, float], *, starts: list[np.ndarray], delta: float = 0.1,
            cap: float | None = None, signed: tuple[str, ...] = (), coarse: bool = False):
    """Minimise the Huber loss of log residuals over the free parameters; returns (params, loss).

    ``fixed`` pins parameters by name; ``starts`` are full parameter vectors (fixed entries are ignored).
    ``cap`` floors the prediction at chance (the distance never exceeds it); ``signed`` names parameters
    whose lower bound is mirrored below zero (the data-size term of a general-knowledge metric).
    The loss is the Huber sum divided by ``delta**2`` so that L-BFGS-B's absolute tolerances bite at a
    sensible scale whatever the size of the residuals. ``coarse`` stops at :data:`REFIT_TOL` (bootstrap and
    cross-validation refits) instead of scipy's default tolerances.
    """
    names = form.params
    free = np.array([i for i, n in enumerate(names) if n not in fixed], dtype=int)
    base = np.array([fixed.get(n, np.nan) for n in names], dtype=float)
    all_bounds = [(-hi, hi) if n in signed else (lo, hi) for n, (lo, hi) in zip(names, form.bounds(L), strict=True)]
    if cap is not None and "Lc" in names:  # a knee has its own floor at chance (Lc); a hard cap would leave
        i = names.index("E")               # flat, gradient-free regions, so only its ceiling is bounded
        all_bounds[i] = (all_bounds[i][0], min(all_bounds[i][1], cap))
        cap = None
    bounds = [all_bounds[i] for i in free]
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    logL = np.log(np.maximum(L, EPS))
    D = np.asarray(D, dtype=float)
    r = np.asarray(r, dtype=float)

    evaluate = form.prepare(D, r)  # the p-free terms computed once: the optimiser calls this thousands of times

    inv_d2 = 1.0 / delta**2

    def objective(x):  # called thousands of times per fit: few numpy calls, one finiteness check at the end
        p = base.copy()
        p[free] = x
        raw, J = evaluate(p)
        # floored at chance: beyond the cap the prediction is cap * (raw/cap)^LEAK, a "leaky" floor that is
        # continuous, nearly flat and never gradient-free (a hard cap strands the optimiser on a plateau)
        if cap is None:
            res, dlog = np.log(raw) - logL, 1.0 / raw  # dlog = d log(pred) / d raw
        else:
            over = raw > cap
            pred = np.where(over, cap * (raw / (cap or 1.0)) ** LEAK, raw)
            res, dlog = np.log(pred) - logL, np.where(over, LEAK / raw, 1.0 / pred)
        c = np.clip(res, -delta, delta)  # Huber: c (res - c / 2) is res^2 / 2 inside delta, delta (|res| - delta / 2) out
        f = float(np.dot(c, res - 0.5 * c)) * inv_d2
        grad = ((c * dlog) @ J)[free] * inv_d2  # d huber / d res = c / delta^2
        if not math.isfinite(f + grad.sum()):  # NaN or inf; a prediction <= 0 has log -inf or NaN, so lands here
            return 1e12, np.zeros_like(x)
        return f, grad

    if len(free) == 0:
        with np.errstate(all="ignore"):
            return base, objective(np.array([]))[0]
    best_x, best_f = None, np.inf
    with np.errstate(all="ignore"):
        for x0 in starts:
            x0f = np.clip(np.asarray(x0, dtype=float)[free], lo, hi)
            if not np.all(np.isfinite(x0f)):
                continue
            res = minimize(objective, x0f, jac=True, method="L-BFGS-B", bounds=bounds,
                           options={"maxiter": 1000, **(REFIT_TOL if coarse else {})})
            if np.isfinite(res.fun) and res.fun < best_f:
                best_x, best_f = res.x, float(res.fun)
    if best_x is None or best_f >= 1e12:
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


def _signed(spec: MetricSpec) -> tuple[str, ...]:
    """General-knowledge metrics may get worse with more in-domain data (forgetting): A's sign is free."""
    return ("A",) if spec.domain == "general" else ()


def _metric_err(spec: MetricSpec, law: Form, p, D, r, y):
    pred_L = predict_L(law, p, D, r, spec.chance_distance)
    pred_y = spec.from_distance(pred_L)
    res_log = np.log(np.maximum(pred_L, 1e-12)) - np.log(np.maximum(spec.distance(y), EPS))
    return pred_y - y, res_log


def _summ(err, res_log) -> dict[str, float]:
    return {"n": int(len(err)), "mae": float(np.mean(np.abs(err))), "bias": float(np.mean(err)),
            "rmse_log": float(np.sqrt(np.mean(res_log**2)))}


def _cross_validate(law, spec, D, r, y, L, fixed, n_free, fold, settings, rng) -> dict[str, Any]:
    """Held-out error on the shared partition ``fold`` (one fold id per row, by cell)."""
    cells = _cells(D, r)
    errs, logs, used = [], [], 0
    for f in np.unique(fold):
        tr, te = fold != f, fold == f
        if len(np.unique(cells[tr])) <= n_free or not te.any():
            continue
        try:
            sub_fixed = law.support(len(_levels(D[tr], 0)), len(_levels(r[tr], 3)), spec.chance_distance).fixed
        except UnderDetermined:
            continue
        if set(sub_fixed) - set(fixed):  # the training part cannot identify a parameter the full fit frees
            continue
        starts = _starts(law, L[tr], r[tr], settings.cv_starts, rng, signed=_signed(spec))  # never the full fit
        try:
            p, _ = fit_law(law, D[tr], r[tr], L[tr], fixed, starts=starts, delta=settings.huber_delta,
                           cap=spec.chance_distance, signed=_signed(spec), coarse=True)
        except RuntimeError:
            continue
        e, lr = _metric_err(spec, law, p, D[te], r[te], y[te])
        errs.append(e)
        logs.append(lr)
        used += 1
    if not used:
        return {"folds": 0, "note": "too few cells for a held-out check"}
    s = _summ(np.concatenate(errs), np.concatenate(logs))
    return {"folds": used, "rmse_log": s["rmse_log"], "mae": s["mae"], "bias": s["bias"], "n_cells": int(
        len(np.unique(cells)))}


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
    starts = _starts(law, L[tr], r[tr], settings.n_starts, rng, signed=_signed(spec))
    try:
        p, _ = fit_law(law, D[tr], r[tr], L[tr], fixed, starts=starts, delta=settings.huber_delta,
                       cap=spec.chance_distance, signed=_signed(spec))
    except RuntimeError as exc:
        return {"status": "not possible", "note": str(exc)}
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


def fmt_collapse(c: dict | None) -> str:
    """A collapse point as printed: censored values (no crossing inside the measured ratios) are bounds."""
    if not c or not np.isfinite(c.get("r", float("nan"))):
        return "-"
    rmin, rmax = c.get("observed_r_min", 0.0), c.get("observed_r_max", 1.0)

    def one(x):
        return f"< {rmin:.2f}" if x < rmin - 1e-9 else f"> {rmax:.2f}" if x > rmax + 1e-9 else f"{x:.3f}"

    point = one(c["r"])
    lo, hi = c.get("ci", [float("nan")] * 2)
    if not (c.get("identified") and np.isfinite(lo) and np.isfinite(hi)):
        return f"{point} (no interval)"
    if one(lo) == one(hi) == point and c.get("censored"):
        return f"{point} (censored: the whole interval lies outside the measured ratios)"
    return f"{point} [{one(lo)}, {one(hi)}]"


def _no_collapse(status: str, note: str, teacher, spec, D_star, form, r_min) -> dict[str, Any]:
    return {"r": float("nan"), "status": status, "ci": [float("nan")] * 2, "target": float("nan"),
            "teacher": float(teacher) if teacher is not None else float("nan"), "chance": float(spec.chance),
            "D": float(D_star), "form": form, "extrapolated": False, "observed_r_min": r_min, "far": False,
            "censored": None, "censored_boot": None, "note": note, "boot": [], "identified": False,
            "margin_se": None}


def _collapse(mf: MetricFit, D_star: float, settings: FitSettings, rng: np.random.Generator) -> dict[str, Any] | None:
    """Collapse point of the chosen form; its interval mixes the bootstrap draws of every fitted form by weight."""
    spec = mf.spec
    ff = mf.best()
    if spec.chance is None or ff is None:
        return None
    law = get_form(ff.form)
    r_min, r_max = float(min(mf.r_levels)), float(max(mf.r_levels))
    teacher, se, note = mf.teacher, mf.teacher_stderr, ""
    if teacher is None:
        teacher = float(spec.from_distance(predict_L(law, ff.vector(), [D_star], [1.0], mf.cap))[0])
        note = "no teacher row: teacher level taken from the law at r = 1"
        if spec.domain == "general":
            return _no_collapse("margin_unknown", "no teacher row with a standard error: the teacher's margin over "
                                "chance cannot be told from noise, no collapse point", teacher, spec, D_star,
                                ff.form, r_min)
    margin = spec.margin(teacher)
    margin_se = margin / se if se and se > 0 else None
    if not margin > 0:
        # "half the margin" would put the collapse at r = 1 and call it a finding
        return _no_collapse("teacher_at_chance", f"the teacher ({teacher:.3f}) is not better than chance "
                            f"({spec.chance:.3f}) on this metric: no margin to lose, no collapse point", teacher,
                            spec, D_star, ff.form, r_min)
    if margin_se is not None and margin_se < settings.min_margin_se:
        c = _no_collapse("margin_small", f"the teacher ({teacher:.3f} ± {se:.3f}) is only {margin_se:.1f} standard "
                         f"errors above chance ({spec.chance:.3f}), fewer than {settings.min_margin_se:g}: its margin "
                         "cannot be told from noise, no collapse point", teacher, spec, D_star, ff.form, r_min)
        c["margin_se"] = float(margin_se)
        return c
    if margin_se is None and spec.domain == "general":
        return _no_collapse("margin_unknown", f"no standard error for the teacher's {spec.label} (column "
                            f"{spec.stderr_column}): its margin over chance cannot be told from noise, no collapse "
                            "point", teacher, spec, D_star, ff.form, r_min)
    if margin_se is None:
        note = "; ".join(x for x in (note, "no teacher standard error: margin not tested in SE") if x)
    frac = settings.collapse_fraction

    def at(name, p, t):
        target = t - frac * spec.margin(t) * (1 if spec.higher_better else -1)
        return collapse_point(lambda rr: spec.from_distance(predict_L(get_form(name), p, np.full_like(rr, D_star),
                                                                      rr, mf.cap)), target, spec.higher_better)[0]

    target = teacher - frac * (teacher - spec.chance)
    r_c, status = collapse_point(lambda rr: spec.from_distance(predict_L(law, ff.vector(), np.full_like(rr, D_star),
                                                                         rr, mf.cap)), target, spec.higher_better)
    # bootstrap: draws of every fitted form with draws, in proportion to its weight (model-choice uncertainty)
    pools = {}
    for name, f in mf.forms.items():
        if not f.ok or not f.boot or f.weight <= 0:
            continue
        vals = []
        for b, t in zip(f.boot, f.boot_teacher or [teacher] * len(f.boot), strict=False):
            b = np.asarray(b, dtype=float)
            vals.append(at(name, b, t) if np.all(np.isfinite(b)) and np.isfinite(t) and spec.margin(t) > 0 else np.nan)
        vals = _calibrate(np.array(vals, dtype=float), at(name, f.vector(), teacher), f.chain_means(), f.boot_df,
                          settings.ci, 0.0, 1.0)
        pools[name] = (f.weight, vals)
    mix = []
    n_draw = max((len(v) for _, v in pools.values()), default=0)
    if pools:
        names = list(pools)
        w = np.array([pools[n][0] for n in names], dtype=float)
        w = w / w.sum()
        pick = rng.choice(len(names), size=n_draw, p=w)
        for i, k in enumerate(pick):
            v = pools[names[k]][1]
            mix.append(v[i % len(v)])
    boots_a = np.array(mix, dtype=float)
    fin = boots_a[np.isfinite(boots_a)]
    ci = _interval(fin, r_c, settings.ci, COLLAPSE_INTERVAL)
    censored = "below" if (status == "below_range" or r_c < r_min - 1e-9) else \
        "above" if (status == "at_1" or r_c > r_max + 1e-9) else None
    return {"r": r_c, "status": status, "ci": ci, "target": float(target), "teacher": float(teacher),
            "chance": float(spec.chance), "D": float(D_star), "form": ff.form,
            "extrapolated": bool(status == "ok" and r_c < r_min - 1e-9), "observed_r_min": r_min,
            "observed_r_max": r_max, "far": bool(status == "ok" and r_c < 0.8 * r_min), "censored": censored,
            "censored_boot": float(np.mean((fin < r_min - 1e-9) | (fin > r_max + 1e-9))) if len(fin) else None,
            "note": note, "boot": [float(x) for x in boots_a], "identified": bool(mf.identified and len(fin) >= 2),
            "margin_se": None if margin_se is None else float(margin_se),
            "forms_in_interval": {n: round(float(pools[n][0]), 3) for n in pools}}


def fit_metric(D, r, y, metric: str, *, teacher: float | None = None, settings: FitSettings | None = None,
               seeds=None, stderr=None, teacher_stderr: float | None = None, task=None,
               rng: np.random.Generator | None = None, boot_idx=None) -> MetricFit:
    """Fit every candidate form of one metric on arrays (rows with NaN metric values are ignored).

    ``seeds`` (one per row) are the seed-chains of the cluster bootstrap (default: one chain);
    ``stderr`` (one per row, optional) the test-item standard error of each value; ``teacher_stderr`` the
    teacher's, which gates the collapse point. ``task`` gives the chance levels (default: settings.task).
    ``boot_idx`` is accepted for compatibility and ignored (draws are parametric).
    """
    # L-BFGS-B calls BLAS on tiny vectors; a multi-threaded BLAS spends 30x longer spinning threads than
    # computing on a shared CPU, so the whole fit runs single-threaded.
    with threadpool_limits(1):
        return _fit_metric(D, r, y, metric, teacher=teacher, settings=settings, seeds=seeds, stderr=stderr,
                           teacher_stderr=teacher_stderr, task=task, rng=rng)



def _quantile(x, q):
    """Quantiles of bootstrap draws at the order-statistic positions ``q (B + 1)`` (Hyndman-Fan type 6).

    The ``k``-th of ``B`` sorted draws has expected probability ``k / (B + 1)`` below it, so the interval between
    positions ``0.025 (B + 1)`` and ``0.975 (B + 1)`` holds 95 % of the bootstrap distribution on average. numpy's
    default (linear, positions ``q (B - 1) + 1``) holds only 92 % with 60 draws and 93 % with 100.
    """
    return np.quantile(x, q, method="weibull")


def _interval(x: np.ndarray, point: float, ci: float, method: str | None = None) -> list[float]:
    """Bootstrap interval of level ``ci`` from draws ``x`` around the estimate ``point``.

    ``percentile`` (default :data:`INTERVAL`) takes the ``(1 -+ ci) / 2`` quantiles (:func:`_quantile`);
    ``bc`` is Efron's bias-corrected percentile interval (the share of draws below the estimate gives the
    median bias ``z0 = Phi^-1(share)`` and the interval takes the quantiles ``Phi(2 z0 -+ z)``); ``basic``
    reflects the percentile interval around the estimate. On simulated paper-shaped grids both covered worse
    than the plain percentile (bench/coverage.py ``--interval``), so neither is the default.
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return [float("nan")] * 2
    q = (1 - ci) / 2
    lo_q, hi_q = q, 1 - q
    method = method or INTERVAL
    if method == "bc" and np.isfinite(point):
        share = (np.sum(x < point) + 0.5 * np.sum(x == point)) / len(x)
        share = min(max(share, 0.5 / len(x)), 1 - 0.5 / len(x))
        z0, z = float(norm.ppf(share)), float(norm.ppf(q))
        lo_q, hi_q = float(norm.cdf(2 * z0 + z)), float(norm.cdf(2 * z0 - z))
    a, b = _quantile(x, [lo_q, hi_q])
    if method == "basic" and np.isfinite(point):
        return [float(2 * point - b), float(2 * point - a)]
    return [float(a), float(b)]


def _param_interval(x: np.ndarray, point: float, ci: float, bounds: tuple[float, float]) -> list[float]:
    """A parameter's interval (:func:`_interval`); with ``BOUND_INTERVAL = "one-sided"``, draws piled up at one of
    the optimiser's ``bounds`` give the one-sided ``[bound, ci quantile]`` instead."""
    if BOUND_INTERVAL == "one-sided":
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        lo, hi = bounds
        tol = 1e-9 * max(1.0, abs(lo) if np.isfinite(lo) else 1.0, abs(hi) if np.isfinite(hi) else 1.0)
        q = (1 - ci) / 2
        if len(x) >= 2 and np.isfinite(lo) and np.mean(x <= lo + tol) >= q:
            return [float(lo), float(_quantile(x, ci))]
        if len(x) >= 2 and np.isfinite(hi) and np.mean(x >= hi - tol) >= q:
            return [float(_quantile(x, 1 - ci)), float(hi)]
    return _interval(x, point, ci)


def _calibrate(x, point, Z, dfs, ci: float, lo: float = -np.inf, hi: float = np.inf) -> np.ndarray:
    """Bootstrap draws ``x`` ((n,) or (n, k)) widened around their estimate ``point`` for the uncertainty of the
    variances they were drawn with (``VARIANCE_DRAW = "satterthwaite"``); unchanged when ``Z`` is None.

    The draws come from plugged-in variances. The between-chain one rests on ``df_b`` = chains - 1 degrees of
    freedom (2 for 3 seed-chains), the within-chain one on ``df_w``; a quantity driven by the chain means needs a
    t interval with ``df_b`` degrees of freedom, one driven by the within-chain noise a normal one. ``Z`` holds,
    per draw, the mean drawn log-noise of each chain: the share ``s`` of a quantity's bootstrap variance that a
    linear regression on ``Z`` explains is its between-chain share, Satterthwaite's effective degrees of freedom
    are ``nu = 1 / (s^2 / df_b + (1 - s)^2 / df_w)``, and each draw's deviation from the estimate is multiplied
    by ``t_nu / z`` at the interval's level (so a percentile interval of the widened draws is the plug-in one
    widened by that factor). Clipped to ``[lo, hi]``.
    """
    x = np.asarray(x, dtype=float)
    if Z is None or not len(dfs) or len(x) < 2:
        return x
    Z = np.asarray(Z, dtype=float).reshape(len(x), -1)
    df_b, df_w = float(dfs[0]), float(dfs[1])
    X = x.reshape(len(x), -1)
    pt = np.broadcast_to(np.asarray(point, dtype=float).ravel(), (X.shape[1],))
    rows = np.all(np.isfinite(X), axis=1) & np.all(np.isfinite(Z), axis=1)
    if df_b <= 0 or rows.sum() < Z.shape[1] + 3:
        return x
    y = X[rows]
    A = np.column_stack([np.ones(len(y)), Z[rows]])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    var = y.var(axis=0)
    with np.errstate(all="ignore"):
        share = np.clip(np.where(var > 0, 1 - (y - A @ coef).var(axis=0) / np.where(var > 0, var, 1.0), 0.0), 0, 1)
    nu = 1.0 / (share**2 / df_b + (1 - share) ** 2 / max(df_w, 1.0))
    q = 1 - (1 - ci) / 2
    k = student_t.ppf(q, nu) / norm.ppf(q)
    out = np.clip(pt + k * (X - pt), lo, hi)
    return out.reshape(x.shape)


def _bounds(law: Form, L, cap: float | None, signed: tuple[str, ...]) -> list[tuple[float, float]]:
    """The box the optimiser searches (as in :func:`fit_law`)."""
    out = [(-hi, hi) if n in signed else (lo, hi) for n, (lo, hi) in zip(law.params, law.bounds(L), strict=True)]
    if cap is not None and "Lc" in law.params:
        i = law.params.index("E")
        out[i] = (out[i][0], min(out[i][1], cap))
    return out


FLAT = 0.9  # an interval spanning >= 90 % of the parameter's allowed range: the profile is flat


def _zero_in(lo: float, hi: float) -> bool:
    tol = 1e-6 * max(abs(lo), abs(hi), 1e-12)
    return lo <= tol and hi >= -tol


def _not_identified(law: Form, p, B: np.ndarray, ci: dict[str, list[float]], bounds, D, r,
                    level: float, effects: dict[str, list[float]] | None = None,
                    null_effect=None, cal=None) -> dict[str, str]:
    """Free parameters the bootstrap cannot pin down, with the reason: no interval is reported for them.

    - a term (data size: ``A``, ``alpha``; compression: ``B``, ``beta``) whose *effect over the measured range*
      (e.g. ``A (d_min^-alpha - d_max^-alpha)``) is not distinguishable from 0: its scale and exponent trade
      off freely along a ridge (a tiny exponent turns the term into a constant absorbed by ``E``), and so does
      the asymptote ``E``, which needs the exponent to extrapolate;
    - the midpoint and width of a knee whose depth (chance-level distance minus ceiling at the largest data
      size) is not distinguishable from 0: with no drop there is no knee to place;
    - the midpoint and width of a knee sharper than the grid resolves (the interval of ``w`` reaches its
      lower bound): every midpoint between the two measured ratios that bracket the drop, with any width
      below the spacing, fits about equally well, so only that bracket is identified (given in the reason);
    - any parameter whose interval spans at least 90 % of its allowed range (a flat profile): the interval
      reports the box, not the data.

    ``null_effect`` (optional) is a callable ``p -> (observed, q)``: the data-size effect on the predictions of
    ``p`` and the ``level`` quantile of the same statistic that noise alone produces (:func:`_null_effect`);
    it is called only when the bootstrap interval excludes 0. ``cal(draws, estimate)`` (optional) widens draws of
    a derived quantity for the variances' uncertainty (:func:`_calibrate`).
    An effect no larger than that is not identified either (the exponent search lets a fit find a data-size
    "effect" in pure noise, which the bootstrap around the fitted effect does not see); the stored interval
    stays the bootstrap's, and the reason says the test did not pass.
    """
    names = law.params
    ix = {n: i for i, n in enumerate(names)}
    out: dict[str, str] = {}
    cal = cal or (lambda x, point: x)
    d = np.array([np.min(D), np.max(D)], dtype=float) / 1000.0

    def effect(P, term):
        P = np.atleast_2d(P)
        if term == "data size":
            return P[:, ix["A"]] * (d[0] ** -P[:, ix["alpha"]] - d[1] ** -P[:, ix["alpha"]])
        g = law.g(np.array([np.min(r), np.max(r)]))
        return P[:, ix["B"]] * (g[0] ** P[:, ix["beta"]] - g[1] ** P[:, ix["beta"]])

    for term, (a, e) in (("data size", ("A", "alpha")), ("compression", ("B", "beta"))):
        if a not in ci or e not in ci:
            continue
        est = float(effect(p, term)[0])
        lo, hi = _interval(cal(effect(B, term), est), est, level, EFFECT_INTERVAL)
        if effects is not None:
            effects[term] = [est, lo, hi]
        why = None
        if np.isfinite(lo) and _zero_in(lo, hi):
            why = (f"the {term} effect over the measured range is not distinguishable from 0 (interval "
                   f"[{lo:.3g}, {hi:.3g}] in distance units)")
        elif np.isfinite(lo) and term == "data size" and null_effect is not None:
            obs, q0 = null_effect(p)
            if np.isfinite(q0) and obs <= q0:
                why = (f"the {term} effect on the predictions ({obs:.3g} in distance units between the smallest and "
                       f"largest data size at the mildest ratio) is no larger than what noise produces without one "
                       f"({level:.0%} of fits to data drawn with no {term} term stay under {q0:.3g})")
        if why:
            out[a], out[e] = why, why
            if "E" in ci:
                out.setdefault("E", f"the asymptote needs the {term} exponent, which is not identified")
    if "Lc" in names and ("r0" in ci or "w" in ci):
        top = B[:, ix["E"]] + B[:, ix["A"]] * d[1] ** (-B[:, ix["alpha"]])
        depth0 = p[ix["Lc"]] - (p[ix["E"]] + p[ix["A"]] * d[1] ** (-p[ix["alpha"]]))
        q = (1 - level) / 2
        lo, hi = _quantile(cal(B[:, ix["Lc"]] - top, depth0), [q, 1 - q])
        if _zero_in(lo, hi):
            for n in ("r0", "w"):
                if n in ci:
                    out[n] = f"the knee's depth is not distinguishable from 0 (interval [{lo:.3g}, {hi:.3g}])"
        if "w" in ci and "r0" in ci and "r0" not in out and ci["w"][0] <= bounds[ix["w"]][0] * 1.01:
            rs = np.unique(np.round(np.asarray(r, dtype=float), 3))
            r0 = float(p[ix["r0"]])
            below, above = rs[rs <= r0], rs[rs > r0]
            lo = f"{below.max():.3g}" if len(below) else "0"
            hi = f"{above.min():.3g}" if len(above) else "1"
            out["r0"] = out["w"] = (f"the knee is sharper than the grid resolves (w reaches its lower bound): a "
                                    f"drop between the measured ratios {lo} and {hi}, position and width not "
                                    "identified")
    for n, (lo, hi) in ci.items():
        blo, bhi = bounds[ix[n]]
        if n not in out and np.isfinite(blo) and np.isfinite(bhi) and hi - lo >= FLAT * (bhi - blo):
            out[n] = f"flat: its interval [{lo:.3g}, {hi:.3g}] spans the allowed range [{blo:.3g}, {bhi:.3g}]"
    return out


def _data_effect(law, P, Dv, rv, cap) -> np.ndarray:
    """|predicted distance at the smallest data size - at the largest|, at the mildest measured ratio, for each
    parameter vector in ``P`` (floored at chance like the fit, so a term hidden under the floor counts as 0)."""
    D2 = np.array([np.min(Dv), np.max(Dv)], dtype=float)
    r2 = np.full(2, float(np.max(rv)))
    out = []
    for p in np.atleast_2d(P):
        L2 = predict_L(law, p, D2, r2, cap)
        out.append(abs(float(L2[0] - L2[1])))
    return np.array(out)


def _null_effect(law, spec, Dv, rv, Lv, sv, se_rel, fixed, n_free, settings, rng):
    """A parametric bootstrap test of "no data-size effect" that accounts for the exponent search (the exponent
    exists under the alternative only): the law is refitted without its data-size term (``A = 0``), data are
    drawn from that fit as in :func:`_bootstrap`, the full law is refitted to each draw, and the data-size effect
    on the predictions (:func:`_data_effect`) is collected. Returns a callable ``p -> (effect of p, its
    settings.ci quantile under no effect)``; the quantile is NaN when the null law cannot be fitted.

    Sequential (Besag & Clifford's Monte Carlo test): the first 19 no-effect draws (at 95 %) are fitted first;
    an effect larger than all of them has a p-value <= 1/20 and passes at once (the largest of them is returned
    as the quantile); one that more than 5 % of the full set's draws already exceed cannot pass, and fails at
    once. Only the undecided cases fit the remaining draws."""
    cap, signed = spec.chance_distance, _signed(spec)

    def test(p):
        obs = float(_data_effect(law, p, Dv, rv, cap)[0])
        fixed0 = {**fixed, "A": 0.0, "alpha": 0.5}  # with A = 0 any exponent gives the same law
        try:
            p0, _ = fit_law(law, Dv, rv, Lv, fixed0, starts=_starts(law, Lv, rv, settings.n_starts, rng, signed=signed),
                            delta=settings.huber_delta, cap=cap, signed=signed)
        except RuntimeError:
            return obs, float("nan")
        point0 = float(_data_effect(law, p0, Dv, rv, cap)[0])
        null = FormFit(law.name, "ok")
        first = math.ceil(1 / (1 - settings.ci)) - 1  # 19 at 95 %: beating all of them is a p-value <= 1 / 20
        for n in (first, settings.n_boot - first) if settings.n_boot > first else (settings.n_boot,):
            draws, _, _, zb, null.boot_df = _bootstrap(law, spec, Dv, rv, Lv, sv, se_rel, fixed, p0, n_free, None,
                                                       None, settings.model_copy(update={"n_boot": n}), rng)
            null.boot += draws
            null.boot_chain += zb
            B0, Z0 = null.finite_draws()
            if len(B0) < 2:
                return obs, float("nan")
            eff = _calibrate(_data_effect(law, B0, Dv, rv, cap), point0, Z0, null.boot_df, settings.ci, 0.0)
            if len(null.boot) == n and settings.n_boot > first:  # the first batch: sequential (Besag & Clifford)
                above = int(np.sum(eff >= obs))
                if above == 0 and len(eff) == first:  # beats every draw: p <= 1 / (first + 1)
                    return obs, float(eff.max())
                if above > (1 - settings.ci) * (settings.n_boot + 1):  # cannot beat the full set's quantile
                    return obs, float(max(_quantile(eff, settings.ci), obs))
        return obs, float(_quantile(eff, settings.ci))

    return test


def _variance_components(e: np.ndarray, seeds: np.ndarray, n_free: int, se_rel: np.ndarray | None):
    """(ms_between, df_between, ms_within, df_within, mean rows per chain) of log residuals by seed-chain."""
    u, inv = np.unique(seeds, return_inverse=True)
    G, n = len(u), len(e)
    m = np.bincount(inv).astype(float)
    means = np.bincount(inv, weights=e) / m
    ss_w = float(np.sum((e - means[inv]) ** 2))
    df_w = max(1, n - G - max(0, n_free - 1))
    ms_w = ss_w / df_w
    if se_rel is not None and np.isfinite(se_rel).any():
        ms_w = max(ms_w, float(np.nanmean(se_rel**2)))  # never less scatter than the test items imply
    if G >= 2:
        ms_b = float(np.sum(m * (means - e.mean()) ** 2) / (G - 1))
        return ms_b, G - 1, ms_w, df_w, float(n / G)
    return 0.0, 0, ms_w, df_w, float(n)


def _bootstrap(law, spec, Dv, rv, Lv, sv, se_rel, fixed, p, n_free, teacher, teacher_se, settings, rng):
    """Parametric cluster bootstrap (see the module docstring): (draws, teacher draws, notes)."""
    cap, signed = spec.chance_distance, _signed(spec)
    pred = predict_L(law, p, Dv, rv, cap)
    e = np.log(Lv) - np.log(np.maximum(pred, 1e-12))
    ms_b, df_b, ms_w, df_w, m = _variance_components(e, sv, n_free, se_rel)
    chains, inv = np.unique(sv, return_inverse=True)
    # "median": the draws' median is the estimate; "log": their geometric mean is (E log chi2_k = digamma(k/2) + log 2)
    med_b = (float(chi2.median(df_b)) if VARIANCE_DRAW == "median" else
             math.exp(digamma(df_b / 2) + math.log(2))) if df_b else 0.0
    draws, tdraws, zbars = [], [], []
    counts = np.bincount(inv).astype(float)
    for _ in range(settings.n_boot):
        mw = ms_w * df_w / rng.chisquare(df_w) if VARIANCE_DRAW in ("chi2", "within", "median", "log") else ms_w
        var_u = 0.0
        if df_b:
            if VARIANCE_DRAW in ("median", "log"):  # redrawn, scaled so the draws' median (geometric mean) is the estimate
                mb = ms_b * med_b / rng.chisquare(df_b)
            else:
                mb = ms_b * df_b / rng.chisquare(df_b) if VARIANCE_DRAW in ("chi2", "between") else ms_b
            var_u = max(0.0, (mb - mw) / m)
        mw, var_u = min(mw, MAX_LOG_VAR), min(var_u, MAX_LOG_VAR)  # a near-zero chi-square draw must not overflow
        z = rng.normal(0, math.sqrt(var_u), len(chains))[inv] + rng.normal(0, math.sqrt(mw), len(e))
        if VARIANCE_DRAW == "satterthwaite":  # the chain means that _calibrate regresses on
            zbars.append([float(v) for v in np.bincount(inv, weights=z) / counts])
        Ls = np.clip(pred * np.exp(np.clip(z, -30, 30)), EPS, 1e3 * float(np.max(Lv)))
        starts = _starts(law, Ls, rv, max(0, settings.boot_starts - 1), rng, extra=[p], signed=signed)
        try:
            pb, _ = fit_law(law, Dv, rv, Ls, fixed, starts=starts, delta=settings.huber_delta, cap=cap, signed=signed,
                            coarse=True)
            draws.append([float(v) for v in pb])
        except RuntimeError:
            draws.append([np.nan] * len(p))
        t = teacher if teacher is None or not teacher_se else float(teacher + rng.normal(0, teacher_se))
        tdraws.append(float("nan") if t is None else t)
    notes = []
    if df_b == 0:
        notes.append("one seed-chain: the chain offset cannot be separated from the law (intervals assume none)")
    return draws, tdraws, notes, zbars, [float(df_b), float(df_w)]


def _fit_metric(D, r, y, metric, *, teacher, settings, seeds, stderr, teacher_stderr, task, rng) -> MetricFit:
    settings = settings or FitSettings()
    rng = rng or np.random.default_rng(settings.seed)
    spec = metric_spec(metric, task if task is not None else settings.task)
    if spec.ideal is None:
        raise ResultsError(f"{metric}: has no ideal value, so no distance-to-ideal law can be fitted")
    D = np.asarray(D, dtype=float)
    r = np.asarray(r, dtype=float)
    y = np.asarray(y, dtype=float)
    seeds = np.zeros(len(y), int) if seeds is None else np.asarray(seeds)
    stderr = None if stderr is None else np.asarray(stderr, dtype=float)
    valid = np.isfinite(y) & np.isfinite(D) & np.isfinite(r)
    Dv, rv, yv, sv = D[valid], r[valid], y[valid], seeds[valid]
    Lv = np.maximum(spec.distance(yv), EPS)
    se_rel = None if stderr is None else stderr[valid] / Lv
    mf = MetricFit(metric=metric, status="ok", n_rows=int(valid.sum()),
                   n_cells=int(len(np.unique(_cells(Dv, rv)))) if len(yv) else 0,
                   D_levels=[float(x) for x in _levels(Dv, 0)], r_levels=[float(x) for x in _levels(rv, 3)],
                   teacher=teacher, chance=spec.chance, teacher_stderr=teacher_stderr,
                   n_seeds=int(len(np.unique(sv))))
    if (spec.distance(yv) < -1e-9).any():
        mf.notes.append(f"{int((spec.distance(yv) < -1e-9).sum())} value(s) beyond the ideal {spec.ideal}: clipped")
    if len(yv) < 2:
        mf.status = "under-determined"
        mf.notes.append(f"only {len(yv)} finished row(s) with a value")
        return mf
    cap, signed = spec.chance_distance, _signed(spec)
    # one cross-validation partition (by cell) for every form
    cells = _cells(Dv, rv)
    n_cells = int(cells.max()) + 1
    k = min(settings.cv_folds, n_cells)
    fold = (rng.permutation(n_cells) % max(k, 1))[cells]
    for fname in settings.forms:
        law = get_form(fname)
        try:
            fixed, notes, n_free, n_cells = _support(law, Dv, rv, spec)
        except UnderDetermined as exc:
            mf.forms[fname] = FormFit(fname, "under-determined", notes=[str(exc)])
            continue
        ff = FormFit(fname, "ok", notes=notes, fixed=sorted(fixed), n_free=n_free)
        if n_free >= n_cells:
            ff.exact = True
            ff.notes.append("exactly determined (as many free parameters as cells): the law passes through the "
                            "cell means; no interval, no held-out check, no finding")
        try:
            p, loss = fit_law(law, Dv, rv, Lv, fixed, starts=_starts(law, Lv, rv, settings.n_starts, rng, signed=signed),
                              delta=settings.huber_delta, cap=cap, signed=signed)
        except RuntimeError as exc:
            mf.forms[fname] = FormFit(fname, "failed", notes=[str(exc)])
            continue
        ff.params = {n: float(v) for n, v in zip(law.params, p, strict=True)}
        ff.loss = loss
        ff.cv = (_cross_validate(law, spec, Dv, rv, yv, Lv, fixed, n_free, fold, settings, rng) if k >= 2
                 else {"folds": 0, "note": "cross-validation off"})
        ff.extrapolation = (_extrapolate(law, spec, Dv, rv, yv, Lv, settings, rng) if settings.extrapolate
                            else {"status": "not run", "note": "extrapolation test off"})
        if not ff.exact and settings.n_boot > 0:
            ff.boot, ff.boot_teacher, bnotes, ff.boot_chain, ff.boot_df = _bootstrap(
                law, spec, Dv, rv, Lv, sv, se_rel, fixed, p, n_free, teacher, teacher_stderr, settings, rng)
            ff.notes.extend(bnotes)
        B, Z = ff.finite_draws()
        if len(B) >= 2:
            box = _bounds(law, Lv, cap, signed)

            def cal(x, point, lo=-np.inf, hi=np.inf, Z=Z, dfs=ff.boot_df):
                return _calibrate(x, point, Z, dfs, settings.ci, lo, hi)

            ci = {n: _param_interval(cal(B[:, i], p[i], *box[i]), p[i], settings.ci, box[i])
                  for i, n in enumerate(law.params) if n not in fixed}
            null = None
            if "A" in law.params and "alpha" in law.params and "A" not in fixed and "alpha" not in fixed:
                null = _null_effect(law, spec, Dv, rv, Lv, sv, se_rel, fixed, n_free, settings, rng)
            ff.not_identified = _not_identified(law, p, B, ci, box, Dv, rv, settings.ci,
                                                ff.effects, null, cal)
            ff.ci = {n: v for n, v in ci.items() if n not in ff.not_identified}
            ff.notes.extend(f"{n} not identified: {why}" for n, why in ff.not_identified.items())
        mf.forms[fname] = ff
    ok = {k: v for k, v in mf.forms.items() if v.ok}
    if not ok:
        mf.status = "under-determined"
        mf.notes.append("no form could be fitted: " + "; ".join(n for f in mf.forms.values() for n in f.notes))
        return mf
    with_cv = {k: v for k, v in ok.items() if v.cv.get("folds")}
    if with_cv:
        best = min(with_cv, key=lambda k: (with_cv[k].cv["rmse_log"], with_cv[k].n_free))
        b = with_cv[best].cv["rmse_log"]
        tied = sorted((k for k, v in with_cv.items() if v.cv["rmse_log"] <= b * (1 + settings.tie_tol) + 1e-12),
                      key=lambda k: (with_cv[k].n_free, with_cv[k].cv["rmse_log"]))
        mf.chosen = tied[0]  # among tied forms: the fewest free parameters
        folds = with_cv[mf.chosen].cv["folds"]
        if len(tied) > 1:
            mf.tied = tied
            mf.choice = (f"tie on held-out log-RMSE ({', '.join(tied)} within {settings.tie_tol:.0%} over {folds}-fold "
                         "cross-validation by cell): the form with fewest free parameters is shown")
        else:
            mf.choice = f"lowest held-out log-RMSE over {folds}-fold cross-validation by cell"
        # weights for the model-averaged interval: Gaussian held-out likelihood over the cells
        for v in with_cv.values():
            v.weight = float((b / max(v.cv["rmse_log"], 1e-12)) ** v.cv.get("n_cells", 1))
        tot = sum(v.weight for v in with_cv.values())
        for v in with_cv.values():
            v.weight = v.weight / tot
    else:
        mf.chosen = min(ok, key=lambda k: (ok[k].n_free, ok[k].loss))
        same = [k for k in ok if ok[k].n_free == ok[mf.chosen].n_free
                and abs(ok[k].loss - ok[mf.chosen].loss) <= 1e-9 * max(1.0, abs(ok[mf.chosen].loss))]
        if len(same) > 1:
            mf.tied = sorted(same)
            mf.choice = (f"no held-out check possible (too few cells); {', '.join(mf.tied)} fit equally well: a tie "
                         f"({mf.chosen} shown)")
        else:
            mf.choice = "no held-out check possible (too few cells): fewest free parameters, then lowest loss"
        mf.notes.append("model choice not validated on held-out cells")
        ok[mf.chosen].weight = 1.0
    mf.collapse = _collapse(mf, float(np.max(Dv)), settings, rng)
    return mf


def _finite_ci(x: np.ndarray, ci: float) -> list[float]:
    x = x[np.isfinite(x)]
    q = (1 - ci) / 2
    return [float(v) for v in _quantile(x, [q, 1 - q])] if len(x) >= 2 else [float("nan")] * 2


def _gaps(g: GroupFit, settings: FitSettings) -> list[dict[str, Any]]:
    """Bootstrap of collapse(general metric) - collapse(in-domain metric): > 0 means general knowledge
    collapses at a milder compression than in-domain quality. No interval when either side has no draws."""
    out = []

    def has(m):
        return m.collapse and m.collapse["status"] not in ("teacher_at_chance", "margin_small", "margin_unknown")

    gen = [m for m in g.metrics.values() if has(m) and m.spec.domain == "general"]
    ind = [m for m in g.metrics.values() if has(m) and m.spec.domain == "in-domain"]
    for a in gen:
        for b in ind:
            ba, bb = np.array(a.collapse["boot"], float), np.array(b.collapse["boot"], float)
            n = min(len(ba), len(bb))  # one side may have no draws (e.g. measured on a single seed)
            diff = ba[:n] - bb[:n]
            ci = _finite_ci(diff, settings.ci) if n else [float("nan")] * 2
            fin = diff[np.isfinite(diff)]
            out.append({"general": a.metric, "indomain": b.metric, "gap": a.collapse["r"] - b.collapse["r"],
                        "ci": ci, "p_general_first": float(np.mean(fin > 0)) if len(fin) else None,
                        "r_general": a.collapse["r"], "r_indomain": b.collapse["r"],
                        "identified": bool(a.collapse.get("identified") and b.collapse.get("identified")
                                           and np.all(np.isfinite(ci))),
                        "censored": bool(a.collapse.get("censored") or b.collapse.get("censored"))})
    return out


MIN_BOOT_PARALLEL = 20  # auto workers: below this many bootstrap draws a fit takes seconds, less than starting workers


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def fit_workers(workers: int | None, n_jobs: int, n_boot: int) -> int:
    """Processes for ``n_jobs`` (group, metric) fits: ``workers`` if given, else every usable CPU when the fits
    bootstrap at least :data:`MIN_BOOT_PARALLEL` times, else 1; never more than the jobs."""
    if workers is None:
        workers = usable_cpus() if n_boot >= MIN_BOOT_PARALLEL else 1
    return max(1, min(workers, n_jobs))


def _fit_job(job: dict[str, Any]) -> MetricFit:
    """One (group, metric) fit in a worker process; its generator is seeded from (seed, group, metric) so the
    result is the same in any process."""
    gi, mi, seed = job.pop("gi"), job.pop("mi"), job.pop("seed")
    return fit_metric(**job, rng=np.random.default_rng([seed, gi, mi]))


def fit_table(df: pd.DataFrame, settings: FitSettings | None = None, *, task=None, progress: bool = False,
              workers: int | None = None) -> Fits:
    """Fit every metric of every group of a results table; ``task`` (a Task, name or path; default
    ``settings.task``) gives the in-domain chance levels.

    The (group, metric) fits are independent and each draws from its own generator, seeded from
    (``settings.seed``, group, metric): ``workers`` processes run them side by side (default: every usable
    CPU when the fits bootstrap at least 20 times, else one) and the fits are identical whatever the number.

    Raises :class:`ResultsError` when nothing at all can be fitted (e.g. fewer than two finished student
    rows); under-determined groups/metrics are kept with a note instead, so a small grid still reports.
    """
    from datetime import UTC, datetime

    from taskdistill.info import versions
    from taskdistill.scaling.compare import compare_all
    from taskdistill.task import load_task

    settings = settings or FitSettings()
    task_arg = load_task(task if task is not None else settings.task)
    settings = settings.model_copy(update={"task": task_arg.name})  # recorded with the fits
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
    jobs = []
    for gi, (key, g) in enumerate(rows.groupby(list(settings.group_by), sort=True, dropna=False)):
        key = key if isinstance(key, tuple) else (key,)
        groups.append(GroupFit(key={c: str(v) for c, v in zip(settings.group_by, key, strict=True)}, n_rows=len(g)))
        for mi, m in enumerate(metrics):
            se_col = f"{m}_stderr"
            jobs.append({"gi": gi, "mi": mi, "seed": settings.seed, "D": g["dataset_size"].to_numpy(float),
                         "r": g["params_ratio"].to_numpy(float), "y": g[m].to_numpy(float), "metric": m,
                         "teacher": teacher.get(m), "teacher_stderr": teacher.get(se_col), "settings": settings,
                         "seeds": g["seed"].to_numpy(), "task": task_arg,
                         "stderr": g[se_col].to_numpy(float) if se_col in g else None})
    where = [(job["gi"], job["metric"]) for job in jobs]
    n_workers = fit_workers(workers, len(jobs), settings.n_boot)
    bar = None
    if progress:
        from taskdistill.progress import make_progress

        bar = make_progress(info=False, transient=True)
        bar.start()
        ptask = bar.add_task(f"fitting scaling laws ({n_workers} process{'es' if n_workers > 1 else ''})",
                             total=len(jobs))
    try:
        if n_workers == 1:
            done = []
            for job in jobs:
                done.append(_fit_job(job))
                if bar:
                    bar.advance(ptask)
        else:
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_context

            with ProcessPoolExecutor(max_workers=n_workers, mp_context=get_context("spawn")) as pool:
                done = []
                for mf in pool.map(_fit_job, jobs):  # in job order, whichever process finishes first
                    done.append(mf)
                    if bar:
                        bar.advance(ptask)
    finally:
        if bar:
            bar.stop()
    for (gi, m), mf in zip(where, done, strict=True):
        groups[gi].metrics[m] = mf
    for gf in groups:
        gf.gaps = _gaps(gf, settings)
    if not any(m.status == "ok" for g in groups for m in g.metrics.values()):
        raise ResultsError(f"{df.attrs.get('source')}: too few points to fit any law in any group: "
                           + "; ".join(f"{g.name}: {g.n_rows} rows" for g in groups))
    comparisons = compare_all(df, metrics=[m for m in (metrics[0] if metrics else None, settings.general_metric)
                                           if m and m in metrics], ci=settings.ci, task=task_arg)
    task_name = task_arg.name
    return Fits(settings=settings.model_dump(mode="json"), groups=groups, teacher=teacher, n_rows=len(df),
                n_fitted_rows=len(rows), n_failed=n_failed, source=str(df.attrs.get("source")), notes=notes,
                versions=versions(), created=datetime.now(UTC).isoformat(timespec="seconds"),
                seconds=round(time.perf_counter() - t0, 2), task=str(task_name), comparisons=comparisons,
                table_hash=table_hash(df), task_hash=task_arg.hash)
