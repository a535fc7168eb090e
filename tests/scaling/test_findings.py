"""What the fits may and may not claim: paired comparisons, identification, ties, censoring, the margin gate."""

import copy

import numpy as np
import pytest

from taskdistill.report import build_report
from taskdistill.report.build import findings, is_demonstration
from taskdistill.scaling import FitSettings, fit_metric, fit_table
from taskdistill.scaling.compare import compare
from taskdistill.scaling.fit import _gaps, fmt_collapse
from taskdistill.scaling.recommend import recommend
from taskdistill.scaling.simulate import simulate_grid, synthetic_results

from .synth import quickstart_results, small_fits

THREE = ({"supervision": "label", "method": "logit", "schedule": "iterative"},
         {"supervision": "blended", "method": "logit", "schedule": "iterative"},
         {"supervision": "blended", "method": "logit", "schedule": "oneshot"})
QUICK = FitSettings(n_boot=8, n_starts=4, cv_folds=4, boot_starts=2, cv_starts=2, metrics=("indomain.macro_f1",))


def test_known_supervision_effect_is_stated_and_a_zero_schedule_effect_is_unresolved(tmp_path):
    # truth: blended supervision lowers the error floor and the compression term; the schedule does nothing
    df = synthetic_results(groups=THREE, dataset_sizes=(6_000, 25_000), seeds=(0, 1, 2), seed=12, failed=0,
                           effects={("supervision", "blended"): {"E": 0.8, "B": 0.7}})
    fits = fit_table(df, QUICK)
    sup = next(c for c in fits.comparisons if c["factor"] == "supervision")
    sch = next(c for c in fits.comparisons if c["factor"] == "schedule")
    assert (sup["a"], sup["b"]) == ("label", "blended") and sup["resolved"] and sup["ci"][1] < 0
    assert sch["ci"][0] < 0 < sch["ci"][1] and not sch["resolved"]
    # the first pruning step (79 %) is identical by construction and is not compared
    assert {round(p["cell"], 2) for p in sch["per_ratio"]} == {0.58, 0.37, 0.16}
    _, md = build_report(df, fits, tmp_path, metrics=("indomain.macro_f1",), dpi=30)
    text = md.read_text()
    assert "label minus blended" in text and "blended is better; the interval excludes zero" in text
    assert "iterative minus oneshot" in text and "not resolved at this grid" in text
    assert "seed-chains" in text  # says what it would take


def test_comparison_with_one_seed_uses_cells_and_says_so():
    df = synthetic_results(groups=THREE[:2], dataset_sizes=(2_000,), targets=(0.79, 0.58), seeds=(0,), failed=0)
    res = compare(df, "supervision", "indomain.macro_f1")
    assert res and "one seed" in res[0]["unit"] and res[0]["n"] == 2


def test_exactly_determined_fits_give_no_interval_and_no_finding(tmp_path):
    # the quickstart shape with three seeds: 1 data size x 2 ratios, the law passes through the cell means
    df = synthetic_results(groups=THREE[:2], dataset_sizes=(2_000,), targets=(0.79, 0.58), seeds=(0, 1, 2),
                           seed=5, failed=0)
    fits = fit_table(df, QUICK.model_copy(update={"metrics": ("indomain.macro_f1", "mmlu.text_gain_frac")}))
    for g in fits.groups:
        for mf in g.metrics.values():
            assert mf.best().exact and mf.best().ci == {} and not mf.identified
            assert mf.best().boot == []
        assert all(not gap["identified"] for gap in g.gaps)
    assert is_demonstration(fits)
    fl = findings(fits)
    assert "demonstration of the pipeline, not a law" in fl[0]
    assert not any("collapses first" in s for s in fl)
    _, md = build_report(df, fits, tmp_path, metrics=("indomain.macro_f1",), dpi=30)
    assert "no interval, no finding" in md.read_text()


def test_gap_with_draws_on_one_side_only_does_not_crash():
    g = copy.deepcopy(small_fits().group(supervision="label"))
    g.metrics["indomain.macro_f1"].collapse["boot"] = []  # e.g. a metric measured on a single seed
    gaps = _gaps(g, FitSettings())
    gap = next(x for x in gaps if x["general"] == "mmlu.text_gain_frac")
    assert not gap["identified"] and np.isnan(gap["ci"][0]) and gap["p_general_first"] is None
    g.metrics["indomain.macro_f1"].collapse["boot"] = [0.1, 0.2, np.nan]  # fewer draws than the other side
    gap = next(x for x in _gaps(g, FitSettings()) if x["general"] == "mmlu.text_gain_frac")
    assert np.isfinite(gap["ci"][0])


def test_censored_collapse_points_print_as_bounds():
    c = {"r": 0.0, "ci": [0.0, 0.046], "censored": "below", "observed_r_min": 0.164, "observed_r_max": 0.79,
         "identified": True}
    assert fmt_collapse(c).startswith("< 0.16") and "0.000" not in fmt_collapse(c)
    c2 = {**c, "r": 0.3, "ci": [0.1, 0.45], "censored": None}
    assert fmt_collapse(c2) == "0.300 [< 0.16, 0.450]"
    assert fmt_collapse({**c2, "identified": False}) == "0.300 (no interval)"


def test_general_knowledge_collapse_needs_a_teacher_margin_of_4_se():
    df = simulate_grid("knee", {"E": 0.71, "A": 0.0, "alpha": 0.5, "r0": 0.55, "w": 0.08, "Lc": 0.75},
                       "mmlu.gold_prob", dataset_sizes=[2_000, 20_000], targets=[0.79, 0.58, 0.37, 0.16],
                       seeds=(0, 1), noise=0.005, seed=1)
    s = FitSettings(n_boot=6, forms=("knee",), n_starts=4, cv_starts=2)
    args = (df.dataset_size, df.params_ratio, df["mmlu.gold_prob"], "mmlu.gold_prob")
    # SmolLM2 on MMLU accuracy: 0.277 +- 0.014 is 1.9 SE above chance
    small = fit_metric(*args, teacher=0.277, teacher_stderr=0.014, seeds=df.seed, settings=s)
    assert small.collapse["status"] == "margin_small" and "1.9 standard errors" in small.collapse["note"]
    unknown = fit_metric(*args, teacher=0.29, seeds=df.seed, settings=s)
    assert unknown.collapse["status"] == "margin_unknown"
    ok = fit_metric(*args, teacher=0.29, teacher_stderr=0.004, seeds=df.seed, settings=s)
    assert ok.collapse["status"] == "ok" and ok.collapse["margin_se"] == pytest.approx(10.0)


def test_power_forms_floor_at_chance_and_general_knowledge_may_get_worse_with_data():
    # 2-ratio general-knowledge grid: the power law may not predict below chance at harsher ratios
    df = simulate_grid("power", {"E": 0.7, "A": -0.02, "alpha": 0.5, "B": 0.05, "beta": 1.0}, "mmlu.gold_prob",
                       dataset_sizes=[2_000, 8_000, 32_000], targets=[0.9, 0.79, 0.58], seeds=(0, 1),
                       noise=0.003, seed=2)
    mf = fit_metric(df.dataset_size, df.params_ratio, df["mmlu.gold_prob"], "mmlu.gold_prob", seeds=df.seed,
                    settings=FitSettings(n_boot=0, forms=("power",), n_starts=8))
    assert mf.forms["power"].params["A"] < 0  # forgetting: more in-domain data, less general knowledge
    pred = mf.predict(np.full(5, 32_000.0), np.array([0.3, 0.2, 0.1, 0.05, 0.02]))[0]
    assert (pred >= 0.25 - 1e-12).all()


def test_confident_refuses_without_an_interval():
    df = quickstart_results()
    fits = fit_table(df.copy(), QUICK)
    point = recommend(df, fits, min_f1=0.1)
    assert point.feasible
    rec = recommend(df, fits, min_f1=0.1, confident=True)
    assert not rec.feasible and "--confident needs an interval" in rec.message


def test_alternatives_come_with_the_interval_of_their_difference():
    rec = recommend(None, small_fits(), min_f1=0.5)
    assert rec.feasible and rec.alternatives
    v = rec.alternatives[0]["vs_answer"]
    assert v["low"] <= v["difference"] <= v["high"] and isinstance(v["indistinguishable"], bool)
