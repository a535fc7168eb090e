import numpy as np
import pytest
from scipy.optimize import approx_fprime

from taskdistill.scaling.laws import FORMS, UnderDetermined, get_form
from taskdistill.scaling.metrics import METRICS, metric_spec

D = np.array([2_000.0, 25_000.0, 400_000.0, 6_000.0])
R = np.array([0.16, 0.58, 1.0, 0.37])
P = {"power": [0.08, 0.15, 0.35, 0.05, 1.3], "power_log": [0.08, 0.15, 0.35, 0.05, 1.3],
     "knee": [0.6, 0.1, 0.4, 0.6, 0.08, 0.75]}


@pytest.mark.parametrize("name", list(FORMS))
def test_analytic_jacobian_matches_finite_differences(name):
    law, p = get_form(name), np.array(P[name])
    J = law.jac(p, D, R)
    for i in range(len(D)):
        num = approx_fprime(p, lambda q, i=i: law.predict(q, D, R)[i], 1e-7)
        np.testing.assert_allclose(J[i], num, rtol=1e-4, atol=1e-6)


def test_r_terms_vanish_at_r_equal_one_and_grow_with_compression():
    for name in ("power", "power_log"):
        law = get_form(name)
        p = np.array(P[name])
        at_one = law.predict(p, np.array([1e5]), np.array([1.0]))[0]
        E, A, alpha = p[:3]
        assert at_one == pytest.approx(E + A * 100 ** -alpha)
        L = law.predict(p, np.full(4, 1e5), np.array([0.9, 0.6, 0.3, 0.1]))
        assert np.all(np.diff(L) > 0)


def test_support_drops_or_pins_what_the_grid_cannot_identify():
    power = get_form("power")
    one_d = power.support(1, 4, 0.97)
    assert one_d.fixed["A"] == 0 and any("no D term" in n for n in one_d.notes)
    two = power.support(2, 2, 0.97)
    assert "alpha" in two.fixed and "beta" in two.fixed and "A" not in two.fixed
    assert power.support(3, 3, None).fixed == {}
    with pytest.raises(UnderDetermined, match="3 distinct compression ratios"):
        get_form("knee").support(4, 2, 0.75)
    assert get_form("knee").support(3, 4, 0.75).fixed == {"Lc": 0.75}
    assert "Lc" not in get_form("knee").support(3, 4, None).fixed


def test_metric_distance_round_trip_and_chance_levels():
    for m in METRICS.values():
        if m.ideal is None:  # a margin has no ideal: no law
            assert m.chance_distance is None
            continue
        y = np.array([0.3, 0.7]) if m.higher_better and m.ideal == 1 else np.array([-1.2, 0.4])
        np.testing.assert_allclose(m.from_distance(m.distance(y)), y)
    assert metric_spec("indomain.nll").chance == pytest.approx(np.log(35))
    assert metric_spec("mmlu.acc").chance_distance == pytest.approx(0.75)
    assert metric_spec("mmlu.gold_ll_per_char").chance is None
    assert metric_spec("mmlu.gold_prob").chance == 0.25 and metric_spec("mmlu.gold_margin").chance == 0.0
    # in-domain chance levels come from the task: 13 labels for the coarse task
    assert metric_spec("indomain.macro_f1", "finheadlines-coarse").chance == pytest.approx(1 / 13)
    assert metric_spec("indomain.nll", "finheadlines-coarse").chance == pytest.approx(np.log(13))
    with pytest.raises(KeyError, match="unknown metric"):
        metric_spec("indomain.f2")


@pytest.mark.parametrize("name", sorted(FORMS))
def test_prepared_evaluation_gives_the_same_floats_as_predict_and_jac(name):
    """The optimiser's prepared evaluation (p-free terms computed once) must not change a fit: the same floats."""
    law = get_form(name)
    rng = np.random.default_rng(3)
    D = np.repeat([6_000.0, 25_000.0, 100_000.0, 400_000.0], 5)
    r = np.tile([1.0, 0.79, 0.58, 0.37, 0.16], 4)  # r = 1: g(r) = 0, where the power forms' log term is guarded
    f = law.prepare(D, r)
    for _ in range(5):
        lo, hi = np.array(law.bounds(np.array([0.5]))).T
        p = rng.uniform(lo, np.minimum(hi, lo + 2.0))
        pred, J = f(p)
        assert np.array_equal(pred, law.predict(p, D, r))
        assert np.array_equal(J, law.jac(p, D, r))
