import numpy as np

from taskdistill.scaling.recommend import recommend

from .synth import small_fits, small_results


def test_cheapest_feasible_setting_and_nothing_cheaper_qualifies():
    fits, df = small_fits(), small_results()
    rec = recommend(df, fits, min_f1=0.75)
    assert rec.feasible and not rec.extrapolated
    s = rec.setting
    assert rec.predicted["indomain.macro_f1"]["mean"] >= 0.75
    assert set(rec.predicted) >= {"indomain.macro_f1", "mmlu.acc", "indomain.nll"}  # every fitted metric
    # brute force: no group predicts F1 >= 0.75 at a clearly smaller ratio anywhere in its measured data range
    for g in fits.groups:
        mf = g.metrics["indomain.macro_f1"]
        r = np.linspace(min(mf.r_levels), s["params_ratio"] - 0.02, 30)  # (candidate grid step ~0.017)
        for D in mf.D_levels:
            assert (mf.predict(np.full_like(r, D), r)[0] < 0.75).all()
    assert 0.1 < s["nearest_target"] < 1.0


def test_confident_answer_is_never_cheaper_than_the_point_answer():
    fits, df = small_fits(), small_results()
    point = recommend(df, fits, min_f1=0.8)
    safe = recommend(df, fits, min_f1=0.8, confident=True)
    assert point.feasible and safe.feasible and safe.confident
    assert (safe.setting["params_ratio"], safe.setting["dataset_size"]) >= (
        point.setting["params_ratio"], point.setting["dataset_size"])
    assert safe.predicted["indomain.macro_f1"]["low"] >= 0.8


def test_impossible_constraints_get_a_clear_no_with_the_best_possible():
    fits, df = small_fits(), small_results()
    rec = recommend(df, fits, min_f1=0.85, max_params=0.2)
    assert not rec.feasible
    assert "nothing in the fitted range" in rec.message and "Best predicted" in rec.message
    # general knowledge collapses: keeping MMLU near the teacher and a small student cannot both happen
    rec2 = recommend(df, fits, min_mmlu=0.32, max_params=0.4)
    assert not rec2.feasible


def test_extrapolation_is_flagged_and_bounded():
    fits, df = small_fits(), small_results()
    g = fits.groups[0]
    D_hi = max(g.metrics["indomain.macro_f1"].D_levels)
    rec = recommend(df, fits, min_f1=0.0, params=min(g.metrics["indomain.macro_f1"].r_levels) * 0.85)
    assert rec.feasible and rec.extrapolated and "EXTRAPOLATED" in rec.message
    # far below the measured ratios nothing is proposed
    far = recommend(df, fits, min_f1=0.0, params=0.05)
    assert not far.feasible and "outside the fitted range" in far.message
    # the data search never goes past 2x the largest measured size
    best = recommend(df, fits, min_f1=0.1)
    assert best.setting["dataset_size"] <= 2 * D_hi
