"""Coverage of the scaling fits' nominal 95 % intervals, measured by simulation.

Draws many grids shaped like the paper's (4 data sizes x 4 ratios x 3 seed-chains) from known laws, fits
each exactly as ``taskdistill fit`` does (same code, same settings apart from the number of bootstrap draws),
and counts, per noise level, how often the interval of each fitted parameter and of the collapse point
contains the truth. Three regimes, with the teacher levels and test-item noise measured on SmolLM2-135M at
1,000 MMLU questions (docs/results.md):

- ``f1``: in-domain macro-F1 from a power law (teacher 0.885 ± 0.012), multiplicative noise on the error
  rate with a per-seed-chain offset (sd = noise / 2) shared by every cell of the chain;
- ``gain``: the default general-knowledge metric ``mmlu.text_gain_frac`` (question-text gain as a share of
  the unigram loss, floor 0) from a knee falling to the floor, teacher 0.383 ± 0.0051 (75 SE above the
  floor), test-item noise 0.0051 per cell plus the per-chain offset;
- ``acc``: the near-chance MMLU accuracy regime (teacher 0.277 ± 0.014, 2 SE above chance 0.25; item noise
  0.014 per cell). No collapse point may be computed here: the table reports the share of grids where it was
  (correctly) refused, and the coverage of the parameters that are identified.

A parameter the fit reports as *not identified* (no interval: e.g. the exponent of a term whose scale is
not distinguishable from 0) is not counted as covered; the table gives the coverage over the grids where it
was identified and, in brackets, the number of grids where it was not. A parameter that the truth itself
leaves undefined (``alpha`` when ``A = 0``: any exponent gives the same law) gets no coverage, only the
share of grids where the fit says "not identified". The data-size effect ``A (d_min^-alpha - d_max^-alpha)`` is
scored the same way: where the fit reports the data-size term as not identified (its effect not
distinguishable from 0, or no larger than noise produces without one), it makes no interval claim about it.

By default only the true form is fitted (so "truth" is defined for every parameter), without the
cross-validation and extrapolation test, which do not change the parameter intervals. The ``gain-all-forms``
regime (and ``--all-forms`` for any regime) fits every form: model choice by cross-validation inside each grid
and the collapse interval mixing the draws of every form by held-out fit (model-choice uncertainty included);
parameter coverage is then that of the true form's intervals.

Every regime, with the fit's own bootstrap settings (100 draws, 3 starts per refit), 200 grids per noise level,
one worker process per core (grid ``i`` is drawn from its own seed, so the tables do not depend on
``--jobs``)::

    python bench/coverage.py
    python bench/coverage.py --regime f1 --noise 0.1 --grids 400   # one cell, more grids

Prints one table per regime (coverage in %) and the CPU time used.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from taskdistill.scaling import fit  # noqa: E402
from taskdistill.scaling.fit import FitSettings, collapse_point, fit_metric, predict_L  # noqa: E402
from taskdistill.scaling.laws import get_form  # noqa: E402
from taskdistill.scaling.metrics import metric_spec  # noqa: E402
from taskdistill.scaling.simulate import PAPER_SIZES, PAPER_TARGETS, params_ratio_of  # noqa: E402

REGIMES = {
    "f1": {"metric": "indomain.macro_f1", "form": "power",
           "params": {"E": 0.08, "A": 0.15, "alpha": 0.35, "B": 0.05, "beta": 1.3},
           "teacher": 0.885, "teacher_se": 0.012, "item_se": 0.0, "noise": (0.03, 0.06, 0.1), "undefined": ()},
    "gain": {"metric": "mmlu.text_gain_frac", "form": "knee",
             "params": {"E": 0.617, "A": 0.0, "alpha": 0.5, "r0": 0.55, "w": 0.08, "Lc": 1.0},
             "teacher": 0.383, "teacher_se": 0.0051, "item_se": 0.0051, "noise": (0.005, 0.01, 0.02),
             "undefined": ("alpha",)},
    "acc": {"metric": "mmlu.acc", "form": "knee",
            "params": {"E": 0.723, "A": 0.0, "alpha": 0.5, "r0": 0.55, "w": 0.08, "Lc": 0.75},
            "teacher": 0.277, "teacher_se": 0.014, "item_se": 0.014, "noise": (0.005, 0.01, 0.02),
            "undefined": ("alpha",)},
}
# the gain regime with every form fitted: model choice inside each grid, collapse interval mixed over forms
REGIMES["gain-all-forms"] = {**REGIMES["gain"], "noise": (0.01,), "all_forms": True}


def simulate(reg: dict, noise: float, rng: np.random.Generator, seeds=(0, 1, 2)):
    law = get_form(reg["form"])
    spec = metric_spec(reg["metric"])
    p = np.array([reg["params"][n] for n in law.params])
    D, r, s = np.meshgrid(np.array(PAPER_SIZES, float), [params_ratio_of(t) for t in PAPER_TARGETS], seeds,
                          indexing="ij")
    D, r, s = D.ravel(), r.ravel(), s.ravel()
    L = predict_L(law, p, D, r, spec.chance_distance)
    shift = rng.normal(0, noise / 2, len(seeds))[s]
    L = L * np.exp(rng.normal(0, noise, len(L)) + shift)
    y = spec.from_distance(L)
    se = None
    if reg["item_se"]:
        se = np.full(len(y), reg["item_se"])
        y = y + rng.normal(0, reg["item_se"], len(y))
    teacher = reg["teacher"] + rng.normal(0, reg["teacher_se"])
    return D, r, s, y, se, teacher


def true_collapse(reg: dict, settings: FitSettings) -> float:
    law = get_form(reg["form"])
    spec = metric_spec(reg["metric"])
    p = np.array([reg["params"][n] for n in law.params])
    t = reg["teacher"]
    target = t - settings.collapse_fraction * (t - spec.chance)
    Dmax = float(max(PAPER_SIZES))
    return collapse_point(lambda rr: spec.from_distance(predict_L(law, p, np.full_like(rr, Dmax), rr,
                                                                  spec.chance_distance)), target,
                          spec.higher_better)[0]


EFFECT_EVERYWHERE = False  # --effect-everywhere: score the stored effect interval even where the term is n.i.
MIN_GRIDS = 40  # a coverage is printed only over at least this many grids (binomial SE <= 3.5 points)


def _pct(hits: list[bool]) -> str:
    return f"{100 * np.mean(hits):.1f}" if hits else "-"


def _cell(hits: list[bool], n_ni: int, grids: int) -> str:
    """A coverage over the grids that gave an interval; when fewer than MIN_GRIDS did (the fit correctly
    says "not identified" almost everywhere), the share not identified, and the raw count of the few
    intervals, which is no coverage estimate."""
    if len(hits) >= MIN_GRIDS:
        return _pct(hits) + (f" (n.i. {n_ni})" if n_ni else "")
    few = f"; {sum(hits)} of {len(hits)} intervals cover" if hits else ""
    return f"n.i. in {100 * n_ni / grids:.1f} %{few}"


def _grid(job: tuple) -> dict:
    """Fit one simulated grid; what each interval did against the truth (runs in a worker process)."""
    name, noise, i, seed, all_forms, boot, boot_starts = job
    reg = REGIMES[name]
    settings = _settings(reg, all_forms, boot, boot_starts, seed)
    c0 = time.process_time()
    rng = np.random.default_rng([seed, int(round(noise * 1e4)), i])  # grid i is the same whatever --jobs
    D, r, s, y, se, teacher = simulate(reg, noise, rng)
    mf = fit_metric(D, r, y, reg["metric"], teacher=teacher, teacher_stderr=reg["teacher_se"], seeds=s,
                    stderr=se, settings=settings, rng=rng)
    ff = mf.forms[reg["form"]]
    out: dict = {"params": {}, "effect": None, "collapse": "none", "chosen": mf.chosen == reg["form"], "at_bound": []}
    spec = metric_spec(reg["metric"])
    law = get_form(reg["form"])
    bounds = dict(zip(law.params, fit._bounds(law, spec.distance(y), spec.chance_distance, fit._signed(spec)),
                      strict=True))
    for n in (n for n in get_form(reg["form"]).params if n != "Lc"):
        if n in ff.not_identified:
            out["params"][n] = "ni"
        elif n in ff.ci and n not in reg["undefined"]:
            lo, hi = ff.ci[n]
            out["params"][n] = bool(lo <= reg["params"][n] <= hi)
            blo, bhi = bounds[n]
            if min(abs(lo - blo), abs(hi - bhi)) <= 1e-6 * max(1.0, abs(blo), abs(bhi)):
                out["at_bound"].append(n)  # one end of the interval is the optimiser's bound: a one-sided bound
    if "A" in ff.not_identified and not EFFECT_EVERYWHERE:  # the term is reported as not identified: no interval
        out["effect"] = "ni"
    elif "data size" in ff.effects:
        _, lo, hi = ff.effects["data size"]
        out["effect"] = bool(lo - 1e-12 <= _truth_effect(reg) <= hi + 1e-12)
    c = mf.collapse
    if c and c["status"] in ("margin_small", "teacher_at_chance", "margin_unknown"):
        out["collapse"] = "refused"
    elif c and c.get("identified") and np.all(np.isfinite(c["ci"])):
        truth_c = true_collapse(reg, settings)
        out["collapse"] = bool(c["ci"][0] - 1e-9 <= truth_c <= c["ci"][1] + 1e-9)
        out["collapse_r"], out["collapse_width"] = float(c["r"]), float(c["ci"][1] - c["ci"][0])
    out["cpu"] = time.process_time() - c0
    return out


def _settings(reg: dict, all_forms: bool, boot: int, boot_starts: int, seed: int) -> FitSettings:
    forms = ("power", "power_log", "knee") if all_forms else (reg["form"],)
    return FitSettings(n_boot=boot, forms=forms, metrics=(reg["metric"],), seed=seed, boot_starts=boot_starts,
                       cv_folds=10 if all_forms else 0, extrapolate=False)


def _truth_effect(reg: dict) -> float:
    p = reg["params"]
    d = np.array([min(PAPER_SIZES), max(PAPER_SIZES)]) / 1000.0
    return float(p["A"] * (d[0] ** -p["alpha"] - d[1] ** -p["alpha"]))


def run(name: str, reg: dict, grids: int, boot: int, all_forms: bool, seed: int, noises=None,
        boot_starts: int = 2, pool=None) -> float:
    """Print the regime's table; returns the CPU seconds its fits used (in every worker)."""
    all_forms = all_forms or reg.get("all_forms", False)
    settings = _settings(reg, all_forms, boot, boot_starts, seed)
    truth_c = true_collapse(reg, settings)
    law = get_form(reg["form"])
    print(f"\n## {name}: {reg['metric']} from a {reg['form']} law {reg['params']}, teacher {reg['teacher']} ± "
          f"{reg['teacher_se']}, item se {reg['item_se']}; true collapse r = {truth_c:.3f}; forms fitted: "
          f"{', '.join(settings.forms)}; {boot} bootstrap draws, {boot_starts} starts per refit; {grids} grids "
          "per noise level", flush=True)
    names = [n for n in law.params if n != "Lc"]
    print("| noise | " + " | ".join(names) + " | data-size effect | collapse r | true form chosen | CPU s/grid |")
    print("|---" * (len(names) + 5) + "|")
    total, widths, bounded = 0.0, [], []
    for noise in noises or reg["noise"]:
        jobs = [(name, noise, i, seed, all_forms, boot, boot_starts) for i in range(grids)]
        res = list(pool.imap(_grid, jobs, chunksize=4) if pool else map(_grid, jobs))
        hits = {n: [g["params"][n] for g in res if isinstance(g["params"].get(n), bool)] for n in names}
        ni = {n: sum(g["params"].get(n) == "ni" for g in res) for n in names}
        e_hits = [g["effect"] for g in res if isinstance(g["effect"], bool)]
        e_ni = sum(g["effect"] == "ni" for g in res)
        c_hits = [g["collapse"] for g in res if isinstance(g["collapse"], bool)]
        refused = sum(g["collapse"] == "refused" for g in res)
        no_ci = sum(g["collapse"] == "none" for g in res)
        cpu = sum(g["cpu"] for g in res)
        total += cpu
        cells = []
        for n in names:
            if n in reg["undefined"]:
                cells.append(f"undefined; n.i. in {100 * ni[n] / grids:.1f} %")
            else:
                cells.append(_cell(hits[n], ni[n], grids))
        cc = _pct(c_hits)
        if refused:
            cc = (f"{cc}; " if len(c_hits) >= MIN_GRIDS else
                  f"{sum(c_hits)} of {len(c_hits)} intervals cover; " if c_hits else "") + \
                f"refused in {100 * refused / grids:.1f} %"
        if no_ci:
            cc += f"; no interval {no_ci}"
        print(f"| {noise:g} | " + " | ".join(cells) + f" | {_cell(e_hits, e_ni, grids)} | {cc} | "
              f"{sum(g['chosen'] for g in res)}/{grids} | {cpu / grids:.2f} |", flush=True)
        bound = {n: sum(n in g["at_bound"] for g in res) for n in names}
        if any(bound.values()):
            bounded.append((noise, ", ".join(f"{n} {k}" for n, k in bound.items() if k)))
        est = np.array([g["collapse_r"] for g in res if "collapse_r" in g])
        if len(est) >= MIN_GRIDS:
            widths.append((noise, float(np.mean([g["collapse_width"] for g in res if "collapse_r" in g])),
                           float(3.92 * est.std(ddof=1))))
    for noise, text in bounded:  # such an interval is one-sided, and covers more than 95 % of the time
        print(f"intervals with an end at the parameter's bound, at noise {noise:g} (of {grids} grids): {text}")
    for noise, w, spread in widths:  # how wide the interval is against how much the estimate really varies
        print(f"collapse at noise {noise:g}: mean interval width {w:.4f} = {w / spread:.2f} x the 95 % spread of "
              f"the estimates over the grids (3.92 sd = {spread:.4f})")
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grids", type=int, default=200)
    ap.add_argument("--boot", type=int, default=FitSettings().n_boot, help="bootstrap draws (default: the fit's)")
    ap.add_argument("--regime", choices=[*REGIMES, "all"], action="append",
                    help="regime(s) to run (repeatable; default: all)")
    ap.add_argument("--all-forms", action="store_true", help="fit every form (model choice inside each grid, "
                    "model-averaged collapse interval) instead of the true form only")
    ap.add_argument("--boot-starts", type=int, default=FitSettings().boot_starts,
                    help="starts per bootstrap refit (default: the fit's)")
    ap.add_argument("--interval", choices=["percentile", "bc", "basic"], default=fit.INTERVAL,
                    help="parameter interval method (default: the fit's)")
    ap.add_argument("--variance-draw", choices=["chi2", "plugin", "within", "between", "median", "log", "satterthwaite"], default=fit.VARIANCE_DRAW)
    ap.add_argument("--effect-interval", choices=["percentile", "bc", "basic"], default=fit.EFFECT_INTERVAL)
    ap.add_argument("--collapse-interval", choices=["percentile", "bc", "basic"], default=fit.COLLAPSE_INTERVAL)
    ap.add_argument("--bound-interval", choices=["two-sided", "one-sided"], default=fit.BOUND_INTERVAL,
                    help="a parameter interval whose draws pile up at the optimiser's bound")
    ap.add_argument("--effect-everywhere", action="store_true",
                    help="score the data-size effect's stored bootstrap interval in every grid, also where the fit "
                    "reports the term as not identified")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--teacher-se", type=float, help="override the regimes' teacher standard error (simulation "
                    "and fit), e.g. 1e-9 to see the interval without the teacher's own noise")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="worker processes (default: one per core); the results do not depend on it")
    ap.add_argument("--noise", type=float, action="append", help="noise level(s) to run (default: the regime's)")
    a = ap.parse_args()
    chosen = a.regime or ["all"]
    fit.INTERVAL = a.interval
    fit.VARIANCE_DRAW = a.variance_draw
    fit.EFFECT_INTERVAL = a.effect_interval
    fit.COLLAPSE_INTERVAL = a.collapse_interval
    fit.BOUND_INTERVAL = a.bound_interval
    global EFFECT_EVERYWHERE
    EFFECT_EVERYWHERE = a.effect_everywhere
    if a.teacher_se is not None:
        for reg in REGIMES.values():
            reg["teacher_se"] = a.teacher_se
    t0, cpu = time.perf_counter(), 0.0
    # fork: the workers inherit the interval settings set above on the fit module
    pool = multiprocessing.get_context("fork").Pool(a.jobs) if a.jobs > 1 else None
    try:
        for name, reg in REGIMES.items():
            if name in chosen or "all" in chosen:
                cpu += run(name, reg, a.grids, a.boot, a.all_forms, a.seed, a.noise, a.boot_starts, pool)
    finally:
        if pool:
            pool.close()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s wall, {cpu:.0f} s CPU in the fits, {a.jobs} worker(s)")


if __name__ == "__main__":
    main()
