"""Simulator tests: laws with known parameters generate noisy grids; the fitter must recover them."""

import json

import numpy as np
import pandas as pd
import pytest

from taskdistill.scaling import Fits, FitSettings, ResultsError, fit_metric, fit_table
from taskdistill.scaling.fit import collapse_point
from taskdistill.scaling.laws import get_form
from taskdistill.scaling.simulate import simulate_grid

from .synth import FAST, quickstart_results, small_fits, small_results

POWER = {"E": 0.08, "A": 0.15, "alpha": 0.35, "B": 0.05, "beta": 1.3}
KNEE = {"E": 0.62, "A": 0.6, "alpha": 0.5, "r0": 0.5, "w": 0.06, "Lc": 0.75}


def _true_collapse(form, params, metric_chance, teacher, D, higher_better=True):
    law = get_form(form)
    p = np.array([params[n] for n in law.params])
    target = teacher - 0.5 * (teacher - metric_chance)
    return collapse_point(lambda rr: 1 - law.predict(p, np.full_like(rr, D), rr), target, higher_better)[0]


def test_power_law_parameters_recovered_within_their_intervals():
    df = simulate_grid("power", POWER, "indomain.macro_f1", dataset_sizes=[6_000, 25_000, 100_000, 400_000],
                       targets=[0.79, 0.58, 0.37, 0.16], seeds=(0, 1, 2), noise=0.03, seed=2)
    teacher = 0.9
    mf = fit_metric(df.dataset_size, df.params_ratio, df["indomain.macro_f1"], "indomain.macro_f1", teacher=teacher,
                    seeds=df.seed, settings=FitSettings(n_boot=60, forms=("power",), seed=2))
    ff = mf.forms["power"]
    assert ff.ok and mf.chosen == "power"
    for name, true in POWER.items():
        lo, hi = ff.ci[name]
        assert lo <= true <= hi, (name, true, lo, hi)
        assert ff.params[name] == pytest.approx(true, rel=0.35)
    true_rc = _true_collapse("power", POWER, 1 / 35, teacher, 400_000)
    c = mf.collapse
    assert c["status"] == "ok" and c["ci"][0] <= true_rc <= c["ci"][1]
    assert c["r"] == pytest.approx(true_rc, abs=0.01)
    # the correct law extrapolates to the held-out largest data size within a point of F1
    assert ff.extrapolation["status"] == "ok" and ff.extrapolation["largest_D"]["mae"] < 0.02


def test_knee_law_recovered_and_chosen_over_power_laws_by_held_out_error():
    df = simulate_grid("knee", KNEE, "mmlu.acc", dataset_sizes=[2_000, 20_000, 200_000],
                       targets=[0.9, 0.79, 0.68, 0.58, 0.5, 0.42, 0.3, 0.16], seeds=(0, 1), noise=0.01, seed=4)
    mf = fit_metric(df.dataset_size, df.params_ratio, df["mmlu.acc"], "mmlu.acc", teacher=0.37, teacher_stderr=0.015,
                    seeds=df.seed, settings=FitSettings(n_boot=40, cv_folds=6, seed=4))
    assert mf.chosen == "knee", {k: v.cv for k, v in mf.forms.items()}
    assert mf.forms["knee"].cv["rmse_log"] < 0.5 * min(mf.forms[f].cv["rmse_log"] for f in ("power", "power_log"))
    ff = mf.forms["knee"]
    assert ff.fixed == ["Lc"] and ff.params["Lc"] == pytest.approx(0.75)
    for name in ("E", "r0", "w", "alpha"):
        lo, hi = ff.ci[name]
        assert lo <= KNEE[name] <= hi, (name, KNEE[name], lo, hi)
    # collapse of a knee = where it has lost half the margin: close to r0 when the teacher sits at the ceiling
    true_rc = _true_collapse("knee", KNEE, 0.25, 0.37, 200_000)
    assert mf.collapse["ci"][0] <= true_rc <= mf.collapse["ci"][1]


def test_too_few_points_is_a_clear_error():
    df = simulate_grid("power", POWER, "indomain.macro_f1", dataset_sizes=[1000], targets=[0.5], seeds=(0,))
    with pytest.raises(ResultsError, match="too few points"):
        fit_table(df, FAST)
    df2 = df.assign(status="failed")
    with pytest.raises(ResultsError, match="no finished row: all 2 cell"):
        fit_table(pd.concat([df2, df2]), FAST)


def test_bad_tables_name_row_and_column():
    df = small_results().copy()
    with pytest.raises(ResultsError, match="missing column.*params_ratio"):
        fit_table(df.drop(columns=["params_ratio"]), FAST)
    bad = df.copy()
    bad["indomain.macro_f1"] = bad["indomain.macro_f1"].astype(object)
    bad.loc[5, "indomain.macro_f1"] = "n/a?"
    with pytest.raises(ResultsError, match=r"row 5: metric 'indomain.macro_f1'"):
        fit_table(bad, FAST)
    extra = df.assign(**{"mmlu.variant": "cloze"})  # descriptive columns with a metric prefix are kept
    kept = fit_table(extra, FAST.model_copy(update={"n_boot": 2, "metrics": ("mmlu.acc",)}))
    assert kept.groups and all(set(g.metrics) == {"mmlu.acc"} for g in kept.groups)
    assert kept.n_rows == len(extra)
    neg = df.copy()
    neg.loc[3, "params_ratio"] = -0.2
    with pytest.raises(ResultsError, match=r"row 3: column 'params_ratio'"):
        fit_table(neg, FAST)


def test_failed_and_nan_rows_are_ignored():
    base = simulate_grid("power", POWER, "indomain.macro_f1", dataset_sizes=[6_000, 50_000, 400_000],
                         targets=[0.79, 0.58, 0.37, 0.16], seeds=(0,), noise=0.02, seed=7)
    s = FitSettings(n_boot=5, forms=("power",), metrics=("indomain.macro_f1",))
    ref = fit_table(base.copy(), s)
    junk = base.iloc[:3].copy()
    junk["status"] = "failed"
    junk["indomain.macro_f1"] = 0.001  # absurd values in failed rows must not reach the fit
    nan = base.iloc[:2].copy()
    nan["indomain.macro_f1"] = np.nan
    nan["seed"] = 99  # other models than base's (the same model twice is refused, see test_table_checks)
    got = fit_table(pd.concat([base, junk, nan], ignore_index=True), s)
    a = ref.groups[0].metrics["indomain.macro_f1"]
    b = got.groups[0].metrics["indomain.macro_f1"]
    assert b.n_rows == a.n_rows == len(base)
    assert got.n_failed == 3
    for k, v in a.forms["power"].params.items():
        assert b.forms["power"].params[k] == pytest.approx(v, rel=1e-6, abs=1e-9)


def test_quickstart_grid_reports_under_determined_fits_instead_of_crashing():
    fits = fit_table(quickstart_results().copy(), FAST)
    mf = fits.group(supervision="label").metrics["indomain.macro_f1"]
    assert mf.status == "ok"
    assert mf.forms["knee"].status == "under-determined"
    assert "3 distinct compression ratios" in mf.forms["knee"].notes[0]
    best = mf.best()
    assert "A" in best.fixed and "beta" in best.fixed  # one data size, two ratios
    assert best.exact and best.ci == {} and not mf.identified  # exactly determined: no interval
    assert any("exactly determined" in n for n in best.notes)
    assert mf.tied == ["power", "power_log"] and "tie" in mf.choice  # identical fits are a tie, not a choice
    assert "not validated" in " ".join(mf.notes)


def test_shared_fits_have_gaps_and_survive_a_json_round_trip(tmp_path):
    fits = small_fits()
    g = fits.group(supervision="label", method="logit", schedule="iterative")
    gap = next(x for x in g.gaps if x["general"] == "mmlu.text_gain_frac" and x["indomain"] == "indomain.macro_f1")
    # the synthetic truth: general knowledge collapses near r=0.55, F1 near r=0.15
    # (the interval mixes the draws of every form by held-out fit, so on 3 seeds x 15 draws it is wide)
    assert gap["gap"] > 0.2 and gap["ci"][1] > 0 and gap["p_general_first"] > 0.8 and gap["identified"]
    # MMLU accuracy: a SmolLM2-like teacher 2 SE above chance gets no collapse point (and no gap)
    acc = g.metrics["mmlu.acc"].collapse
    assert acc["status"] == "margin_small" and "standard errors above chance" in acc["note"]
    assert not any(x["general"] == "mmlu.acc" for x in g.gaps)
    path = fits.save(tmp_path / "fits.json")
    back = Fits.load(path)
    D, r = np.array([30_000.0, 90_000.0]), np.array([0.3, 0.7])
    for m in ("indomain.macro_f1", "mmlu.text_gain_frac"):
        a = fits.predict(g.key, m, D, r)
        b = back.predict(g.key, m, D, r)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x, y)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ResultsError, match="bad.json"):
        Fits.load(tmp_path / "bad.json")
    # compressed: the same fits, the same bytes on every save (no timestamp in the gzip header)
    gz = fits.save(tmp_path / "fits.json.gz")
    assert gz.read_bytes() == fits.save(tmp_path / "again.json.gz").read_bytes()
    assert gz.stat().st_size < path.stat().st_size / 2
    assert Fits.load(gz).to_dict() == back.to_dict()
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(ResultsError, match="bad.json.gz"):
        Fits.load(tmp_path / "bad.json.gz")


def test_fit_cached_reuses_the_fit_of_an_unchanged_table():
    from taskdistill.cache import stage_dir
    from taskdistill.scaling import fit_cached

    df = quickstart_results().copy()
    a = fit_cached(df, FAST)
    b = fit_cached(df.copy(), FAST)
    assert b.to_dict() == Fits.load(next(stage_dir("fits").glob("*.json"))).to_dict()
    assert a.created == b.created and len(list(stage_dir("fits").glob("*.json"))) == 1
    fit_cached(df.assign(**{"indomain.macro_f1": df["indomain.macro_f1"] * 0.99}), FAST)
    fit_cached(df, FAST.model_copy(update={"seed": 1}))
    assert len(list(stage_dir("fits").glob("*.json"))) == 3


def test_fit_key_names_the_cached_fit():
    """One key for the one fit cache; the main job's report is keyed on it too."""
    from taskdistill.cache import stage_dir
    from taskdistill.scaling import fit_cached, fit_key

    df = quickstart_results().copy()
    fit_cached(df, FAST)
    assert [p.stem for p in stage_dir("fits").glob("*.json")] == [fit_key(df, FAST)]
    assert fit_key(df, FAST, task="finheadlines-coarse") != fit_key(df, FAST)


def test_no_collapse_point_when_the_teacher_is_not_above_chance():
    """A teacher at (or below) chance on MMLU has no margin to lose: no collapse point and no gap,
    instead of a spurious "collapses at r = 1"."""
    df = simulate_grid("knee", KNEE, "mmlu.acc", dataset_sizes=[2_000, 20_000], targets=[0.79, 0.58, 0.37],
                       seeds=(0, 1), noise=0.01, seed=4)
    mf = fit_metric(df.dataset_size, df.params_ratio, df["mmlu.acc"], "mmlu.acc", teacher=0.22,
                    settings=FitSettings(n_boot=10, forms=("power",), seed=0))
    c = mf.collapse
    assert c["status"] == "teacher_at_chance" and np.isnan(c["r"]) and "not better than chance" in c["note"]
    mf_ok = fit_metric(df.dataset_size, df.params_ratio, df["mmlu.acc"], "mmlu.acc", teacher=0.37,
                       teacher_stderr=0.015, settings=FitSettings(n_boot=10, forms=("power",), seed=0))
    assert mf_ok.collapse["status"] != "teacher_at_chance" and np.isfinite(mf_ok.collapse["r"])


def test_parameters_the_grid_cannot_identify_get_no_interval():
    """With no data-size effect in the truth (A = 0), the exponent, the scale and the infinite-data asymptote
    trade off along a ridge: the fit reports them as not identified (with the reason and the interval of the
    data-size effect, which does contain 0) instead of intervals that span the allowed range."""
    truth = {"E": 0.617, "A": 0.0, "alpha": 0.5, "r0": 0.5, "w": 0.1, "Lc": 1.0}
    df = simulate_grid("knee", truth, "mmlu.text_gain_frac", dataset_sizes=[6_000, 25_000, 100_000, 400_000],
                       targets=[0.79, 0.65, 0.5, 0.37, 0.16], seeds=(0, 1, 2), noise=0.01, seed=3)
    mf = fit_metric(df.dataset_size, df.params_ratio, df["mmlu.text_gain_frac"], "mmlu.text_gain_frac",
                    teacher=0.383, teacher_stderr=0.0051, seeds=df.seed,
                    settings=FitSettings(n_boot=40, forms=("knee",), seed=3))
    ff = mf.forms["knee"]
    assert {"A", "alpha", "E"} <= set(ff.not_identified), ff.not_identified
    assert not {"A", "alpha", "E"} & set(ff.ci)
    assert "data size effect" in ff.not_identified["A"] and any("alpha not identified" in n for n in ff.notes)
    est, lo, hi = ff.effects["data size"]
    assert lo <= 0 <= hi
    # the knee itself (a deep drop, resolved by 5 ratios) keeps its intervals, and they hold the truth
    for name in ("r0", "w"):
        lo, hi = ff.ci[name]
        assert lo <= truth[name] <= hi, (name, lo, hi)
    assert mf.identified and np.all(np.isfinite(mf.collapse["ci"]))
    # a real data-size effect is identified: nothing is flagged on the power-law grid
    df = simulate_grid("power", POWER, "indomain.macro_f1", dataset_sizes=[6_000, 25_000, 100_000, 400_000],
                       targets=[0.79, 0.58, 0.37, 0.16], seeds=(0, 1, 2), noise=0.03, seed=2)
    mf = fit_metric(df.dataset_size, df.params_ratio, df["indomain.macro_f1"], "indomain.macro_f1", teacher=0.9,
                    seeds=df.seed, settings=FitSettings(n_boot=30, forms=("power",), seed=2))
    ff = mf.forms["power"]
    assert ff.not_identified == {} and set(ff.ci) == set(POWER)
    assert ff.effects["data size"][1] > 0 and ff.effects["compression"][1] > 0


def test_draws_driven_by_the_chain_means_are_widened_to_a_t_interval():
    """Plugged-in variances from 3 seed-chains: a quantity that moves with the chain means gets the t interval
    with 2 degrees of freedom (t / z = 4.30 / 1.96), one that moves with the within-chain noise a normal one."""
    from scipy.stats import norm, t

    from taskdistill.scaling import fit as F

    rng = np.random.default_rng(0)
    Z = rng.normal(0, 0.1, (400, 3))  # the mean drawn log-noise of each of 3 chains, per draw
    dfs = [2.0, 40.0]
    between = 1.0 + Z.sum(axis=1)
    within = 1.0 + rng.normal(0, 0.1, 400)
    wide = F._calibrate(np.column_stack([between, within]), [1.0, 1.0], Z, dfs, 0.95)
    k = (wide - 1.0) / (np.column_stack([between, within]) - 1.0)
    assert k[:, 0] == pytest.approx(t.ppf(0.975, 2) / norm.ppf(0.975), rel=1e-6)
    assert 1.0 < k[0, 1] < t.ppf(0.975, 30) / norm.ppf(0.975)  # about t_40 / z = 1.03
    assert np.array_equal(F._calibrate(between, 1.0, None, dfs, 0.95), between)  # nothing to widen with
    assert F._calibrate(between, 1.0, Z, dfs, 0.95, hi=1.1).max() == 1.1  # clipped to the parameter's box


def test_the_no_effect_test_stops_early_on_a_plain_data_size_effect(monkeypatch):
    """Sequential Monte Carlo test: an effect larger than all of the first 19 no-effect refits passes without the
    others; the full-size bootstrap runs once, for the intervals."""
    from taskdistill.scaling import fit as F

    sizes = []
    orig = F._bootstrap

    def counted(*a, **k):
        sizes.append(a[-2].n_boot)
        return orig(*a, **k)

    monkeypatch.setattr(F, "_bootstrap", counted)
    df = simulate_grid("power", POWER, "indomain.macro_f1", dataset_sizes=[6_000, 25_000, 100_000, 400_000],
                       targets=[0.79, 0.58, 0.37, 0.16], seeds=(0, 1, 2), noise=0.03, seed=2)
    mf = fit_metric(df.dataset_size, df.params_ratio, df["indomain.macro_f1"], "indomain.macro_f1", teacher=0.9,
                    seeds=df.seed, settings=FitSettings(n_boot=40, forms=("power",), seed=2, boot_starts=2))
    assert sizes == [40, 19] and "A" in mf.forms["power"].ci


def test_interval_of_draws_piled_at_a_bound_is_one_sided(monkeypatch):
    from taskdistill.scaling import fit as F

    rng = np.random.default_rng(0)
    x = np.concatenate([np.zeros(30), rng.uniform(0.0, 1.0, 70)])  # 30 % of the draws on the bound E = 0
    lo, hi = F._param_interval(x, 0.1, 0.95, (0.0, 10.0))  # the default: a one-sided bound [bound, 95 % quantile]
    two = F._interval(x, 0.1, 0.95)  # the equal-tailed interval: its lower end on the bound too, but wider
    assert lo == 0.0 and hi == pytest.approx(F._quantile(x, 0.95)) and hi < two[1]
    y = np.concatenate([np.full(30, 3.0), rng.uniform(1.0, 3.0, 70)])  # piled at the upper bound
    lo, hi = F._param_interval(y, 2.5, 0.95, (0.01, 3.0))
    assert hi == 3.0 and lo == pytest.approx(F._quantile(y, 0.05))
    monkeypatch.setattr(F, "BOUND_INTERVAL", "two-sided")
    assert F._param_interval(x, 0.1, 0.95, (0.0, 10.0)) == two
    monkeypatch.setattr(F, "BOUND_INTERVAL", "one-sided")
    z = rng.uniform(0.2, 0.8, 100)  # nothing on a bound: unchanged
    assert F._param_interval(z, 0.5, 0.95, (0.0, 1.0)) == F._interval(z, 0.5, 0.95)


def test_fits_are_the_same_in_one_process_and_in_several():
    from taskdistill.scaling.fit import fit_workers

    df = small_results().copy()
    settings = FitSettings(n_boot=6, n_starts=3, boot_starts=2, cv_starts=2)
    one = fit_table(df, settings, workers=1).to_dict()
    two = fit_table(df, settings, workers=2).to_dict()
    for d in (one, two):
        d.pop("seconds"), d.pop("created")
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)  # NaN-safe: the same text
    assert len(one["groups"]) >= 2 and all(g["metrics"] for g in one["groups"])
    # auto: every usable CPU for a real bootstrap, one process for a quick one; never more than the fits
    assert fit_workers(None, 28, n_boot=100) >= 1 and fit_workers(None, 28, n_boot=5) == 1
    assert fit_workers(8, 3, n_boot=100) == 3 and fit_workers(2, 28, n_boot=0) == 2
