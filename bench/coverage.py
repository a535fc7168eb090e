"""Coverage of the scaling fits' nominal 95 % intervals, measured by simulation.

Draws many grids shaped like the paper's (4 data sizes x 4 ratios x 3 seed-chains) from known laws,
fits each exactly as ``taskdistill fit`` does (same code, same settings apart from the number of bootstrap
draws), and counts how often the interval of each fitted parameter and of the collapse point contains the
truth, per noise level. Two regimes:

- ``f1``: in-domain macro-F1 from a power law (teacher 0.885 ± 0.012), multiplicative noise on the error
  rate with a per-seed-chain offset (sd = noise / 2) shared by every cell of the chain;
- ``mmlu``: the near-chance general-knowledge regime: MMLU gold probability (chance 0.25) from a knee law
  with a SmolLM2-like teacher at 0.290 ± 0.004 (10 SE above chance), additive test-item noise (per-cell
  standard error 0.004, as for 1,000 questions) plus a per-chain offset (sd = noise / 2 in log distance).

    python bench/coverage.py --grids 200 --boot 40

Only the true form is fitted (so "truth" is defined for every parameter), without the cross-validation and
extrapolation test, which do not change the intervals; ``--all-forms`` fits every form with model choice
and the model-averaged collapse interval. ``--noise`` runs a single noise level (to split the work).

Prints one table per regime: coverage (%) per quantity and noise level, and the grids used.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from taskdistill.scaling.fit import FitSettings, collapse_point, fit_metric, predict_L  # noqa: E402
from taskdistill.scaling.laws import get_form  # noqa: E402
from taskdistill.scaling.metrics import metric_spec  # noqa: E402
from taskdistill.scaling.simulate import PAPER_SIZES, PAPER_TARGETS, params_ratio_of  # noqa: E402

REGIMES = {
    "f1": {"metric": "indomain.macro_f1", "form": "power",
           "params": {"E": 0.08, "A": 0.15, "alpha": 0.35, "B": 0.05, "beta": 1.3},
           "teacher": 0.885, "teacher_se": 0.012, "item_se": 0.0, "noise": (0.03, 0.06, 0.1)},
    "mmlu": {"metric": "mmlu.gold_prob", "form": "knee",
             "params": {"E": 0.712, "A": 0.0, "alpha": 0.5, "r0": 0.52, "w": 0.08, "Lc": 0.75},
             "teacher": 0.290, "teacher_se": 0.004, "item_se": 0.004, "noise": (0.005, 0.01, 0.02)},
}


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


def run(name: str, reg: dict, grids: int, boot: int, all_forms: bool, seed: int, noises=None) -> None:
    forms = ("power", "power_log", "knee") if all_forms else (reg["form"],)
    settings = FitSettings(n_boot=boot, forms=forms, metrics=(reg["metric"],), seed=seed, boot_starts=2,
                           cv_folds=10 if all_forms else 0, extrapolate=False)
    truth_c = true_collapse(reg, settings)
    print(f"\n## {name}: {reg['metric']} from a {reg['form']} law {reg['params']}, teacher {reg['teacher']} ± "
          f"{reg['teacher_se']}; true collapse r = {truth_c:.3f}; forms fitted: {', '.join(forms)}; "
          f"{boot} bootstrap draws; {grids} grids per noise level", flush=True)
    header = None
    for noise in noises or reg["noise"]:
        rng = np.random.default_rng([seed, int(noise * 1e4)])
        hits: dict[str, list[bool]] = {}
        chosen_ok, no_ci, t0 = 0, 0, time.process_time()
        for _ in range(grids):
            D, r, s, y, se, teacher = simulate(reg, noise, rng)
            mf = fit_metric(D, r, y, reg["metric"], teacher=teacher, teacher_stderr=reg["teacher_se"], seeds=s,
                            stderr=se, settings=settings, rng=rng)
            ff = mf.forms[reg["form"]]
            chosen_ok += mf.chosen == reg["form"]
            for n, (lo, hi) in ff.ci.items():
                hits.setdefault(n, []).append(lo <= reg["params"][n] <= hi)
            c = mf.collapse
            if c and np.all(np.isfinite(c["ci"])):
                hits.setdefault("collapse r", []).append(c["ci"][0] - 1e-9 <= truth_c <= c["ci"][1] + 1e-9)
            else:
                no_ci += 1
        if header is None:
            header = list(hits)
            print("| noise | " + " | ".join(header) + " | true form chosen | no collapse interval | CPU s/grid |")
            print("|---" * (len(header) + 4) + "|")
        cells = [f"{100 * np.mean(hits[k]):.1f}" if hits.get(k) else "-" for k in header]
        print(f"| {noise:g} | " + " | ".join(cells) + f" | {chosen_ok}/{grids} | {no_ci} | "
              f"{(time.process_time() - t0) / grids:.2f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grids", type=int, default=200)
    ap.add_argument("--boot", type=int, default=60)
    ap.add_argument("--regime", choices=[*REGIMES, "all"], default="all")
    ap.add_argument("--all-forms", action="store_true", help="fit every form (model choice inside) instead of "
                    "the true form only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, action="append", help="noise level(s) to run (default: the regime's)")
    a = ap.parse_args()
    t0, c0 = time.perf_counter(), time.process_time()
    for name, reg in REGIMES.items():
        if a.regime in (name, "all"):
            run(name, reg, a.grids, a.boot, a.all_forms, a.seed, a.noise)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU")


if __name__ == "__main__":
    main()
