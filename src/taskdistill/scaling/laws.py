"""Candidate scaling-law forms: the distance-to-ideal ``L`` of a metric as a function of data and compression.

Notation: ``D`` is the number of training examples, measured in thousands (``d = D / 1000``) so that the
fitted coefficients stay O(1); ``r`` is the compression ratio = student params / teacher params *counting
embeddings* (``params_ratio``; ``r = 1`` is an uncompressed model). ``L`` is the distance to ideal of the
metric (see :mod:`taskdistill.scaling.metrics`: ``1 - F1``, NLL, ``-loglik``, ...), always >= 0.

Forms (each has a ``D`` term that vanishes with infinite data and an ``r`` term that vanishes at ``r = 1``):

``power``      Chinchilla-style: ``L = E + A * d^-alpha + B * g(r)^beta`` with ``g(r) = 1/r - 1``
               (the number of "removed teacher copies": 0 at r=1, 0.27 at 79 %, 5.25 at 16 %).
``power_log``  the same with ``g(r) = -ln r`` (milder growth at harsh compression; 0 at r=1).
``knee``       a sigmoid "collapse" in r between the chance level and a data-limited ceiling:
               ``L = Lc + (E + A * d^-alpha - Lc) * sigmoid((r - r0) / w)``. ``Lc`` is the chance-level
               distance (fixed from the metric's chance level; a free parameter when the metric has none),
               ``r0`` the midpoint and ``w`` the width of the knee. Fits general-knowledge metrics that hold up
               and then fall off a cliff, which a power law cannot bend to.

What the data can identify decides which parameters are free (:meth:`Form.support`): with one data size the
``D`` term is dropped, with two its exponent is fixed (``alpha = 0.5``) and only its scale is fitted; the same
for ``r`` in the power forms (``beta = 1`` with two ratios). The knee needs three distinct ratios. Fixed
parameters are recorded with every fit so a table never passes a prior off as a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

D_UNIT = 1000.0  # D is measured in thousands of training examples inside the laws
ALPHA_FIXED = 0.5  # exponent used when only two data sizes exist (documented, flagged in every table)
BETA_FIXED = 1.0  # exponent used when only two compression ratios exist


class UnderDetermined(ValueError):
    """The data cannot identify this form (too few distinct data sizes, ratios or cells)."""


@dataclass(frozen=True)
class Support:
    """Which parameters a fit may move, and the values of the others."""

    fixed: dict[str, float]
    notes: tuple[str, ...]


class Form:
    """A law ``L(d, r; p)``; subclasses give the parameter names, bounds and the formula."""

    name: str = ""
    params: tuple[str, ...] = ()
    formula: str = ""

    def predict(self, p: np.ndarray, D: np.ndarray, r: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def jac(self, p: np.ndarray, D: np.ndarray, r: np.ndarray) -> np.ndarray:  # pragma: no cover
        """d predict / d p, shape (n_points, n_params): analytic, so the fitter needs no finite differences."""
        raise NotImplementedError

    def bounds(self, L: np.ndarray) -> list[tuple[float, float]]:  # pragma: no cover
        raise NotImplementedError

    def init_box(self, L: np.ndarray, r: np.ndarray) -> list[tuple[float, float, bool]]:  # pragma: no cover
        """(low, high, log-uniform?) per parameter: where multi-start draws its initial points."""
        raise NotImplementedError

    def support(self, n_D: int, n_r: int, chance_distance: float | None) -> Support:  # pragma: no cover
        raise NotImplementedError

    def prepare(self, D: np.ndarray, r: np.ndarray):
        """``f(p) -> (predict, jac)`` at fixed points, for an optimiser calling it many times: the terms that do
        not depend on ``p`` are computed once. The values are the same floats as :meth:`predict` and
        :meth:`jac` (same operations in the same order); a form's own version may return one Jacobian array
        that the next call overwrites, so use it before calling again."""
        D, r = np.asarray(D, dtype=float), np.asarray(r, dtype=float)
        return lambda p: (self.predict(p, D, r), self.jac(p, D, r))

    def __repr__(self) -> str:
        return f"<law {self.name}: {self.formula}>"


def _d_support(n_D: int) -> tuple[dict[str, float], list[str]]:
    if n_D >= 3:
        return {}, []
    if n_D == 2:
        return {"alpha": ALPHA_FIXED}, [f"only 2 data sizes: alpha fixed at {ALPHA_FIXED}"]
    return {"A": 0.0, "alpha": ALPHA_FIXED}, ["one data size: no D term (A = 0)"]


class PowerLaw(Form):
    params = ("E", "A", "alpha", "B", "beta")

    def __init__(self, name: str, g_name: str):
        self.name = name
        self.g_name = g_name
        self.formula = f"L = E + A*(D/1000)^-alpha + B*({g_name})^beta"

    def g(self, r: np.ndarray) -> np.ndarray:
        r = np.clip(np.asarray(r, dtype=float), 1e-6, 1.0)
        return 1.0 / r - 1.0 if self.g_name == "1/r - 1" else -np.log(r)

    def predict(self, p, D, r):
        E, A, alpha, B, beta = p
        d = np.asarray(D, dtype=float) / D_UNIT
        return E + A * d ** (-alpha) + B * self.g(r) ** beta

    def jac(self, p, D, r):
        E, A, alpha, B, beta = p
        d = np.asarray(D, dtype=float) / D_UNIT
        g = self.g(r)
        dpow = d ** (-alpha)
        gpow = g**beta
        with np.errstate(divide="ignore", invalid="ignore"):
            glog = np.where(g > 0, gpow * np.log(np.where(g > 0, g, 1.0)), 0.0)
        return np.stack([np.ones_like(d), dpow, -A * dpow * np.log(d), gpow, B * glog], axis=1)

    def prepare(self, D, r):
        d = np.asarray(D, dtype=float) / D_UNIT
        g = self.g(r)
        logd = np.log(d)
        pos = g > 0
        logg = np.log(np.where(pos, g, 1.0))
        J = np.empty((len(d), 5))
        J[:, 0] = 1.0

        def f(p):
            E, A, alpha, B, beta = p
            dpow = d ** (-alpha)
            gpow = g**beta
            J[:, 1] = dpow
            J[:, 2] = -A * dpow * logd
            J[:, 3] = gpow
            J[:, 4] = B * np.where(pos, gpow * logg, 0.0)
            return E + A * dpow + B * gpow, J

        return f

    def bounds(self, L):
        Lmax = float(np.max(L))
        return [(0.0, 10 * Lmax), (0.0, 1e3 * Lmax), (0.01, 3.0), (0.0, 1e3 * Lmax), (0.05, 5.0)]

    def init_box(self, L, r):
        Lmin, Lmax = float(np.min(L)), float(np.max(L))
        return [(0.0, Lmin, False), (1e-3 * Lmax, 3 * Lmax, True), (0.1, 1.0, False),
                (1e-3 * Lmax, 3 * Lmax, True), (0.3, 2.0, False)]

    def support(self, n_D, n_r, chance_distance):
        fixed, notes = _d_support(n_D)
        if n_r >= 3:
            pass
        elif n_r == 2:
            fixed["beta"] = BETA_FIXED
            notes.append(f"only 2 ratios: beta fixed at {BETA_FIXED}")
        else:
            fixed.update(B=0.0, beta=BETA_FIXED)
            notes.append("one ratio: no r term (B = 0)")
        return Support(fixed, tuple(notes))


class KneeLaw(Form):
    name = "knee"
    params = ("E", "A", "alpha", "r0", "w", "Lc")
    formula = "L = Lc + (E + A*(D/1000)^-alpha - Lc) * sigmoid((r - r0)/w)"

    def predict(self, p, D, r):
        E, A, alpha, r0, w, Lc = p
        d = np.asarray(D, dtype=float) / D_UNIT
        top = E + A * d ** (-alpha)
        return Lc + (top - Lc) * expit((np.asarray(r, dtype=float) - r0) / w)

    def jac(self, p, D, r):
        E, A, alpha, r0, w, Lc = p
        d = np.asarray(D, dtype=float) / D_UNIT
        dpow = d ** (-alpha)
        top = E + A * dpow
        z = (np.asarray(r, dtype=float) - r0) / w
        s = expit(z)
        ds = (top - Lc) * s * (1 - s)
        return np.stack([s, s * dpow, -s * A * dpow * np.log(d), -ds / w, -ds * z / w, 1 - s], axis=1)

    def prepare(self, D, r):
        d = np.asarray(D, dtype=float) / D_UNIT
        r = np.asarray(r, dtype=float)
        logd = np.log(d)
        J = np.empty((len(d), 6))

        def f(p):
            E, A, alpha, r0, w, Lc = p
            dpow = d ** (-alpha)
            top = E + A * dpow
            z = (r - r0) / w
            s = expit(z)
            ds = (top - Lc) * s * (1 - s)
            J[:, 0] = s
            J[:, 1] = s * dpow
            J[:, 2] = -s * A * dpow * logd
            J[:, 3] = -ds / w
            J[:, 4] = -ds * z / w
            J[:, 5] = 1 - s
            return Lc + (top - Lc) * s, J

        return f

    def bounds(self, L):
        Lmax = float(np.max(L))
        # w >= 0.02: a knee sharper than the spacing of any real grid of ratios is not identifiable
        return [(0.0, 10 * Lmax), (0.0, 1e3 * Lmax), (0.01, 3.0), (-1.0, 2.0), (0.02, 2.0), (0.0, 100 * Lmax)]

    def init_box(self, L, r):
        Lmin, Lmax = float(np.min(L)), float(np.max(L))
        rmin, rmax = float(np.min(r)), float(np.max(r))
        return [(0.0, Lmin, False), (1e-3 * Lmax, Lmax, True), (0.1, 1.0, False),
                (rmin - 0.1, rmax, False), (0.02, 0.3, False), (Lmax, 3 * Lmax, False)]

    def support(self, n_D, n_r, chance_distance):
        if n_r < 3:
            raise UnderDetermined(f"knee form needs >= 3 distinct compression ratios, have {n_r}")
        fixed, notes = _d_support(n_D)
        if chance_distance is not None:
            fixed["Lc"] = float(chance_distance)
        else:
            notes.append("no chance level: floor Lc fitted")
        return Support(fixed, tuple(notes))


FORMS: dict[str, Form] = {f.name: f for f in (PowerLaw("power", "1/r - 1"), PowerLaw("power_log", "-ln r"),
                                              KneeLaw())}
DEFAULT_FORMS = ("power", "power_log", "knee")


def get_form(name: str) -> Form:
    try:
        return FORMS[name]
    except KeyError:
        raise KeyError(f"unknown law form {name!r}; known: {', '.join(FORMS)}") from None
