"""Benchmark: one scaling-law fit (power law, 48 points, 12 starts) with the shipped settings (analytic
gradient, terms that do not depend on the parameters computed once per fit, single-threaded BLAS) against three
baselines measured in the same run: finite-difference gradients, the law and its gradient recomputed in full at
every call (``Form.predict`` and ``Form.jac``, no ``prepare``), and the process's default BLAS threading.
Prints seconds, ratios and the loss each reaches (the same loss: the prepared terms are the same floats).
Also the looser tolerances of the bootstrap and cross-validation refits (``fit.REFIT_TOL``) against scipy's
defaults: seconds, loss and the largest relative difference of the fitted parameters.

    python bench/scaling_fit.py
"""

from __future__ import annotations

import time
import types

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from taskdistill.scaling import fit as F
from taskdistill.scaling.laws import Form, get_form
from taskdistill.scaling.simulate import simulate_grid

TRUE = {"E": 0.08, "A": 0.15, "alpha": 0.35, "B": 0.05, "beta": 1.3}


def data():
    df = simulate_grid("power", TRUE, "indomain.macro_f1", dataset_sizes=[6_000, 25_000, 100_000, 400_000],
                       targets=[0.79, 0.58, 0.37, 0.16], noise=0.03, seed=1)
    return (df["dataset_size"].to_numpy(float), df["params_ratio"].to_numpy(float),
            1 - df["indomain.macro_f1"].to_numpy(float))


def run(numeric_grad: bool, threads: int | None, repeats: int = 3, prepared: bool = True, coarse: bool = False):
    D, r, L = data()
    law = get_form("power")
    orig = F.minimize
    if not prepared:  # the generic evaluation: predict and jac in full at every call
        law.prepare = types.MethodType(Form.prepare, law)

    def fd_minimize(fun, x0, jac=None, **kw):  # same objective, gradient by finite differences
        return orig(lambda x: fun(x)[0], x0, **kw)

    F.minimize = fd_minimize if numeric_grad else minimize
    try:
        ctx = threadpool_limits(threads) if threads else threadpool_limits(None)
        with ctx:
            t0 = time.perf_counter()
            for i in range(repeats):
                starts = F._starts(law, L, r, 12, np.random.default_rng(i))
                p, loss = F.fit_law(law, D, r, L, {}, starts=starts, coarse=coarse)
            return (time.perf_counter() - t0) / repeats, loss, p
    finally:
        F.minimize = orig
        law.__dict__.pop("prepare", None)


def main() -> None:
    shipped = run(False, 1)
    fd = run(True, 1)
    blas = run(False, None)
    full = run(False, 1, prepared=False)
    coarse = run(False, 1, coarse=True)
    print(f"shipped (analytic grad, 1 BLAS thread): {shipped[0]:.3f} s/fit, loss {shipped[1]:.5f}")
    print(f"finite-difference grad, 1 thread:       {fd[0]:.3f} s/fit, loss {fd[1]:.5f}  "
          f"-> shipped is {fd[0] / shipped[0]:.1f}x faster")
    print(f"law recomputed in full at every call:   {full[0]:.3f} s/fit, loss {full[1]:.5f}  "
          f"-> shipped is {full[0] / shipped[0]:.1f}x faster")
    print(f"analytic grad, default BLAS threads:    {blas[0]:.3f} s/fit, loss {blas[1]:.5f}  "
          f"-> shipped is {blas[0] / shipped[0]:.1f}x faster")
    rel = float(np.max(np.abs(coarse[2] - shipped[2]) / np.maximum(np.abs(shipped[2]), 1e-12)))
    print(f"refit tolerances {F.REFIT_TOL}: {coarse[0]:.3f} s/fit, loss {coarse[1]:.5f}  -> "
          f"{shipped[0] / coarse[0]:.1f}x faster than the full fit's; parameters within {rel:.1e} (relative)")


if __name__ == "__main__":
    main()
