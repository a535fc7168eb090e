import re

import pytest

from taskdistill.report import build_report
from taskdistill.scaling import fit_table

from ..scaling.synth import FAST, quickstart_results, small_fits, small_results


def _imgs(html: str) -> list[str]:
    return re.findall(r"<img [^>]*src='([^']*)'", html)


def test_full_report_is_self_contained_and_has_every_figure(tmp_path):
    html_path, md_path = build_report(small_results(), small_fits(), tmp_path, dpi=60)
    html = html_path.read_text()
    imgs = _imgs(html)
    # 7 metric-vs-compression figures + vs data + trade-off + collapse + extrapolation (no matched schedules)
    assert len(imgs) == 11
    assert all(src.startswith("data:image/png;base64,") and len(src) > 3000 for src in imgs)
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    md = md_path.read_text()
    pngs = re.findall(r"!\[[^]]*\]\(([^)]+)\)", md)
    assert len(pngs) == 11 and all((tmp_path / p).is_file() for p in pngs)
    for section in ("Summary", "Findings", "Recommendations (computed from the fits)", "Fit diagnostics",
                    "Collapse points", "Extrapolation test", "Model choice", "Settings and versions"):
        assert section in html and section in md
    # the summary leads: the teacher, the best student per ratio, then the trade-off figure, before the others
    assert md.index("## Summary") < md.index("Best student per measured ratio") < md.index("fig_tradeoff.png") \
        < md.index("## Figures") < md.index("## Fit diagnostics")
    assert "general knowledge collapses first" in html
    assert "No schedules figure: the sweep has no cells measured with both" in md
    assert "transformers" in md and "n_boot" in md  # versions and fit settings recorded


def test_small_grid_report_names_under_determined_fits(tmp_path):
    df = quickstart_results()
    fits = fit_table(df.copy(), FAST)
    html_path, md_path = build_report(df, fits, tmp_path, metrics=FAST.metrics, dpi=40)
    md = md_path.read_text()
    assert "## Fit diagnostics" in md and md.count("no interval, no finding") >= 2
    assert "one data size: no D term" in md and "exactly determined" in md
    # the fit diagnostics are one table, not one bullet per under-determined fit ahead of the figures
    summary = md[md.index("## Summary"):md.index("## Figures")]
    # (only the F1 paper-finding line names why its law states nothing)
    rest = "\n".join(x for x in summary.splitlines() if not x.startswith("- F1, "))
    assert "exactly determined" not in rest and "share of teacher" in summary
    assert "not resolved at this grid" in summary
    assert "No schedules figure" in md  # one schedule only: said in words, not an empty plot
    assert len(_imgs(html_path.read_text())) >= 4


def test_report_without_fits_still_shows_the_data(tmp_path):
    html_path, md_path = build_report(quickstart_results(), None, tmp_path, fit_error="too few points to fit",
                                      metrics=("indomain.macro_f1", "mmlu.acc"), dpi=40)
    md = md_path.read_text()
    assert "No scaling law could be fitted: too few points to fit" in md
    assert len(_imgs(html_path.read_text())) >= 3


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path):
    from taskdistill.report.screenshot import ChromiumMissing, check_render, find_chromium, screenshot

    try:
        find_chromium()
    except ChromiumMissing as exc:
        pytest.skip(str(exc))
    html_path, _ = build_report(small_results(), small_fits(), tmp_path)
    chk = check_render(html_path)
    n_img = len(_imgs(html_path.read_text()))
    assert n_img >= 10 and chk.images_total == n_img and chk.images_loaded == n_img, (n_img, chk)
    assert chk.console_errors == []
    png = screenshot(html_path, tmp_path / "shot.png", width=1000, height=1400)
    assert png.stat().st_size > 50_000
    # a broken figure must be caught: corrupt one image and check the same probe reports it
    broken = tmp_path / "broken.html"
    broken.write_text(html_path.read_text().replace("data:image/png;base64,iVBOR", "data:image/png;base64,AAAA", 1))
    bad = check_render(broken)
    assert bad.images_loaded == bad.images_total - 1 and not bad.ok


def test_schedule_figure_pairs_matched_cells():
    from taskdistill.report import figures as F
    from taskdistill.scaling.simulate import DEFAULT_GROUPS, synthetic_results

    df = synthetic_results(groups=DEFAULT_GROUPS[1:3], dataset_sizes=(6_000, 50_000), seeds=(0,), failed=0)
    rows = df[df["method"] != "teacher"]
    pairs = F.schedule_pairs(rows, "indomain.macro_f1")
    assert len(pairs) == 6  # 2 data sizes x 3 targets (the first pruning step, identical by construction, is out)
    fig = F.fig_schedules(rows, ["indomain.macro_f1", "mmlu.acc"])
    assert fig is not None and "iterative better in" in fig.axes[0].get_title()


def test_summary_leads_with_teacher_best_students_and_transfer(tmp_path):
    df = quickstart_results()
    done = df["status"] == "done"
    df.loc[done, "transfer.real.macro_f1"] = df.loc[done, "indomain.macro_f1"] - 0.1
    df.loc[done, "transfer.real.macro_f1_stderr"] = 0.02
    df.loc[done, "transfer.real.accuracy"] = 0.5
    df.loc[done, "transfer.real.n"] = 300
    df.loc[done, "indomain.macro_f1_coarse"] = df.loc[done, "indomain.macro_f1"] + 0.05
    sets = [{"name": "real", "split": "/data/real.csv", "task": "finheadlines-coarse", "found": True},
            {"name": "other", "split": "/nowhere/other.csv", "task": "finheadlines", "found": False}]
    _, md_path = build_report(df, None, tmp_path, fit_error="no fits", metrics=("indomain.macro_f1",), dpi=30,
                              transfer=sets)
    md = md_path.read_text()
    summary = md[md.index("## Summary"):md.index("## Figures")]
    every = md[md.index("## Transfer sets: every model"):md.index("## Data")]
    assert summary.index("Teacher on the synthetic test split") < summary.index("Best student per measured ratio")
    assert "| transfer macro-F1 (real) | synthetic | gap | share of the teacher's transfer macro-F1 |" in summary
    assert "| transfer macro-F1 (real) |" in every and "| synthetic group macro-F1 |" in every
    t = df[df["method"] == "teacher"].iloc[0]
    # the gap compares like with like: coarse transfer vs the synthetic score over the same 13 groups
    gap = t["transfer.real.macro_f1"] - t["indomain.macro_f1_coarse"]
    assert (f"| 1.00 | teacher | 1 | {t['transfer.real.macro_f1']:.3f} ± 0.020 | "
            f"{t['indomain.macro_f1_coarse']:.3f} | {gap:+.3f} | - |") in summary
    assert f"| {t['transfer.real.macro_f1']:.3f} ± 0.020 | 0.500 | {gap:+.3f} |" in every
    assert "no transfer set found at /nowhere/other.csv" in summary
    # with a standard error on both sides the gap gets an interval; one that includes 0 is "not resolved"
    df["indomain.macro_f1_coarse_stderr"] = 0.05
    df.loc[done, "transfer.real.macro_f1"] = df.loc[done, "indomain.macro_f1_coarse"] - 0.01
    _, md_path = build_report(df, None, tmp_path / "b", fit_error="no fits", metrics=("indomain.macro_f1",),
                              dpi=30, transfer=sets[:1])
    assert "(not resolved)" in md_path.read_text()
    # a model without a score on the set reads "-" in every column of it, never "nan"
    df.loc[df["method"] == "teacher", ["transfer.real.macro_f1", "transfer.real.accuracy"]] = float("nan")
    _, md_path = build_report(df, None, tmp_path / "c", fit_error="no fits", metrics=("indomain.macro_f1",),
                              dpi=30, transfer=sets[:1])
    md = md_path.read_text()
    every = md[md.index("## Transfer sets: every model"):md.index("## Data")]
    assert "| teacher |" in every and "| - | - | - |" in every and "nan" not in every


def test_transfer_by_ratio_picks_the_student_by_its_synthetic_score_with_seed_intervals():
    from taskdistill.report.build import transfer_by_ratio
    from taskdistill.task import load_task

    df = small_results().copy()
    done = (df["status"] == "done") & (df["method"] != "teacher")
    df.loc[df["status"] == "done", "indomain.macro_f1_coarse"] = df["indomain.macro_f1"] + 0.05
    # on the transfer set, the WORST synthetic setting of each ratio does best: the table must not pick it
    rank = df[done].groupby(["target", "supervision", "schedule", "dataset_size"])["indomain.macro_f1"].transform("mean")
    df.loc[done, "transfer.real.macro_f1"] = 1.0 - rank + 0.01 * df.loc[done, "seed"]
    df.loc[df["method"] == "teacher", "transfer.real.macro_f1"] = 0.7
    ts = {"name": "real", "split": "/data/real.csv", "task": "finheadlines-coarse", "found": True}
    table, cap = transfer_by_ratio(df, ts, load_task("finheadlines"))
    assert list(table["target"]) == ["1.00", *[f"{t:.2f}" for t in sorted(df[done]["target"].unique(), reverse=True)]]
    for _, row in table.iloc[1:].iterrows():
        at = df[done & (df["target"] == float(row["target"]))]
        means = at.groupby(["supervision", "method", "schedule", "dataset_size"])["indomain.macro_f1"].mean()
        sup, method, sched, d = means.idxmax()
        assert row["model"] == f"{sup}/{method}/{sched}, D={int(d)}" and row["seeds"] == 3
        best = at[(at["supervision"] == sup) & (at["schedule"] == sched) & (at["dataset_size"] == d)]
        gaps = best["transfer.real.macro_f1"] - best["indomain.macro_f1_coarse"]
        assert row["gap"].startswith(f"{gaps.mean():+.3f} [")  # a mean over seeds, with its t-interval
        assert row["transfer macro-F1 (real)"].startswith(f"{best['transfer.real.macro_f1'].mean():.3f} [")
    assert "chosen without looking at this set" in cap
    df["transfer.real.macro_f1"] = float("nan")  # no score on the set: no table
    assert transfer_by_ratio(df, ts, load_task("finheadlines"))[0].empty


def test_report_from_saved_fits_equals_report_from_fresh_fits(tmp_path):
    """A fit read back from its JSON (the fit cache, `report --fits`, a rerun) keeps its NaNs: same report."""
    from taskdistill.scaling.fit import Fits

    df = quickstart_results()
    fits = fit_table(df.copy(), FAST)
    loaded = Fits.load(fits.save(tmp_path / "fits.json"))
    _, a = build_report(df, fits, tmp_path / "a", metrics=FAST.metrics, dpi=20)
    _, b = build_report(df, loaded, tmp_path / "b", metrics=FAST.metrics, dpi=20)

    def body(p):  # without the timestamp line
        return [x for x in p.read_text().splitlines() if not x.startswith("Generated ")]

    assert body(a) == body(b)
    # a refit of the same table (another run, another number of processes, another fit time) writes the same
    # report: the report states the fit's settings, not how long it took
    again = fit_table(df.copy(), FAST, workers=2)
    again.seconds = fits.seconds + 123.0
    _, c = build_report(df, again, tmp_path / "c", metrics=FAST.metrics, dpi=20)
    assert body(c) == body(a)
