"""``build_report``: one self-contained HTML file (figures base64-embedded, no external requests) and its
Markdown twin (PNG files beside it), both rendered from the same list of blocks so they never disagree.

Layout (``SECTIONS``, one function each): a summary a practitioner can act on (the teacher's scores, the
best student per measured ratio and the share of the teacher it keeps, the paper's four findings each with
its interval or why it is not resolved, the efficiency of each ratio, each transfer set's score beside
the synthetic one, the in-domain vs general-knowledge trade-off, the findings), then the figures, the
recommendations, the fit diagnostics as one compact table, the fitted laws in detail, the data, the compute
the sweep spent and the settings.

Every number in the report is computed here from the results table and the fits: findings and
recommendations are generated, not written by hand. A grid too small for a law (the quickstart: one data
size, two ratios) still gets its figures and tables; the diagnostics table says for each fit why it
states no finding (exactly determined, no interval). A difference whose interval includes 0 is
"not resolved"; a fit without an interval gives no finding sentence.
"""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from taskdistill.cache import atomic_write_bytes, atomic_write_text
from taskdistill.report.efficiency import efficiency_rows
from taskdistill.scaling.fit import fmt_collapse
from taskdistill.scaling.laws import get_form
from taskdistill.scaling.metrics import DEFAULT_METRICS, metric_spec, metric_specs
from taskdistill.scaling.table import GROUP_BY, TEACHER_METHOD, fit_rows, teacher_levels, validate

REPORT_HTML = "report.html"
REPORT_MD = "report.md"


@dataclass
class Block:
    kind: str  # h1 h2 h3 p ul table fig
    content: Any
    caption: str = ""
    name: str = ""


# ------------------------------------------------------------------------------------------------ helpers


def _kernels(machine: dict) -> str:
    """The CPU kernel level the machine record names, as " (AVX2 kernels)"; "" where it names none."""
    cap = machine.get("cpu_capability")
    return f" ({cap} kernels)" if cap else ""


def _f(x, nd=3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, float | np.floating):
        return f"{x:.{nd}f}" if abs(x) >= 10 ** (-nd) or x == 0 else f"{x:.2e}"
    return str(x)


def _ci(v, lo, hi, nd=3) -> str:
    if lo is None or not np.isfinite(lo):
        return _f(v, nd)
    return f"{_f(v, nd)} [{_f(lo, nd)}, {_f(hi, nd)}]"


def _png(fig, dpi: int = 90) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, cols)) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(esc(v) for v in row) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ content


def _data_summary(df: pd.DataFrame) -> pd.DataFrame:
    rows = fit_rows(df)
    recs = []
    for key, g in rows.groupby(list(GROUP_BY), dropna=False):
        recs.append({"group": " / ".join(map(str, key)), "rows": len(g),
                     "data sizes": ", ".join(f"{d / 1000:g}k" for d in sorted(g["dataset_size"].unique())),
                     "ratios r": ", ".join(f"{r:.3f}" for r in sorted(g["params_ratio"].round(3).unique())),
                     "seeds": g["seed"].nunique()})
    return pd.DataFrame(recs)


def _levels_table(df: pd.DataFrame, metrics: list[str], task=None) -> pd.DataFrame:
    t = teacher_levels(df)
    return pd.DataFrame([{"metric": metric_spec(m, task).label, "column": m,
                          "direction": "higher is better" if metric_spec(m, task).higher_better else "lower is better",
                          "teacher": _f(t.get(m)), "teacher SE": _f(t.get(f"{m}_stderr")),
                          "chance": _f(metric_spec(m, task).chance)} for m in metrics])


def margin_table(df: pd.DataFrame, settings: dict | None = None, task=None) -> pd.DataFrame:
    """The teacher's margin over chance on each general-knowledge metric, in its own standard errors."""
    t = teacher_levels(df)
    need = (settings or {}).get("min_margin_se", 4.0)
    recs = []
    for m, spec in metric_specs(task).items():
        if spec.domain != "general" or spec.chance is None or m not in t:
            continue
        se = t.get(spec.stderr_column)
        margin = spec.margin(t[m])
        z = margin / se if se else float("nan")
        recs.append({"metric": spec.label, "teacher": _f(t[m]), "SE": _f(se), "chance / floor": _f(spec.chance),
                     "margin": _f(margin), "margin in SE": _f(z, 1),
                     "collapse point": ("no law (the margin has no ideal value)" if spec.ideal is None else
                                        "computed" if np.isfinite(z) and z >= need else
                                        f"no (needs >= {need:g} SE)" if np.isfinite(z) else "no (no standard error)")})
    return pd.DataFrame(recs)


def _params_table(fits) -> pd.DataFrame:
    recs = []
    for g in fits.groups:
        for m, mf in g.metrics.items():
            ff = mf.best()
            if ff is None:
                recs.append({"group": g.name, "metric": metric_spec(m).label, "law": mf.status, "parameters": "-",
                             "notes": "; ".join(mf.notes)})
                continue
            law = get_form(ff.form)
            ps = []
            for n in law.params:
                if n in ff.fixed:
                    ps.append(f"{n}={_f(ff.params[n])} (fixed)")
                else:
                    lo, hi = ff.ci.get(n, [None, None])
                    ps.append(f"{n}={_ci(ff.params[n], lo, hi)}")
            recs.append({"group": g.name, "metric": metric_spec(m).label, "law": ff.form,
                         "parameters": "; ".join(ps), "notes": "; ".join(mf.notes + ff.notes)})
    return pd.DataFrame(recs)


def _choice_table(fits) -> pd.DataFrame:
    recs = []
    for g in fits.groups:
        for m, mf in g.metrics.items():
            rec = {"group": g.name, "metric": metric_spec(m).label}
            for fname in fits.settings["forms"]:
                ff = mf.forms.get(fname)
                if ff is None or not ff.ok:
                    rec[fname] = ff.status if ff else "-"
                else:
                    cv = ff.cv.get("rmse_log")
                    rec[fname] = (_f(cv) if cv is not None else "no CV") + (" *" if fname == mf.chosen else "")
            rec["chosen by"] = mf.choice or "-"
            recs.append(rec)
    return pd.DataFrame(recs)


def _collapse_table(fits) -> pd.DataFrame:
    recs = []
    for g in fits.groups:
        for m, mf in g.metrics.items():
            c = mf.collapse
            if not c:
                continue
            status = {"ok": "", "at_1": "already below half-margin at r=1", "below_range": "no collapse above r=0.01",
                      "teacher_at_chance": "teacher not above chance: no margin to lose",
                      "margin_small": "teacher margin too small in SE", "margin_unknown": "no teacher SE"}
            recs.append({"group": g.name, "metric": metric_spec(m).label,
                         "collapse r (CI)": fmt_collapse(c), "teacher": _f(c["teacher"]),
                         "chance": _f(c["chance"]), "half-margin level": _f(c["target"]),
                         "at D": f"{c['D'] / 1000:g}k", "law": c["form"],
                         "notes": "; ".join(x for x in (status[c["status"]],
                                                         ("FAR beyond the harshest measured ratio: an extrapolation, "
                                                          "not a measurement") if c.get("far") else
                                                         "beyond the harshest measured ratio" if c["extrapolated"]
                                                         else "", "" if c.get("identified") else
                                                         "not identified: no finding", c["note"]) if x)})
    return pd.DataFrame(recs)


def _gap_table(fits) -> pd.DataFrame:
    recs = []
    for g in fits.groups:
        for gap in g.gaps:
            recs.append({"group": g.name, "general": metric_spec(gap["general"]).label,
                         "in-domain": metric_spec(gap["indomain"]).label,
                         "r collapse general": fmt_collapse(g.metrics[gap["general"]].collapse),
                         "r collapse in-domain": fmt_collapse(g.metrics[gap["indomain"]].collapse),
                         "gap (CI)": _ci(gap["gap"], *gap["ci"]) if gap.get("identified") else
                         f"{_f(gap['gap'])} (no interval: no finding)",
                         "P(general collapses first)": _f(gap["p_general_first"], 2)})
    return pd.DataFrame(recs)


def _extrap_table(fits) -> pd.DataFrame:
    recs = []
    for g in fits.groups:
        for m, mf in g.metrics.items():
            for fname, ff in mf.forms.items():
                if not ff.ok:
                    continue
                e = ff.extrapolation
                rec = {"group": g.name, "metric": metric_spec(m).label,
                       "law": fname + (" *" if fname == mf.chosen else "")}
                if e.get("status") != "ok":
                    rec["trained on"] = e.get("note", "-")
                else:
                    rec["trained on"] = f"D <= {e['train_D_max'] / 1000:g}k, r >= {e['train_r_min']:.3f}"
                    for part, label in (("largest_D", f"D = {e['D_max'] / 1000:g}k"),
                                        ("harshest_r", f"r = {e['r_min']:.3f}"), ("corner", "both")):
                        if part in e:
                            rec[f"MAE {label}"] = _f(e[part]["mae"])
                            rec[f"bias {label}"] = _f(e[part]["bias"])
                recs.append(rec)
    return pd.DataFrame(recs).fillna("-")


def _constraining(notes: list[str]) -> list[str]:
    """Notes that say a fit rests on a fixed parameter or could not be validated (not mere information)."""
    return [n for n in notes if not n.startswith(("no chance level", "exactly determined"))]


def _general(fits) -> str:
    return fits.settings.get("general_metric", "mmlu.gold_prob")


def is_demonstration(fits) -> bool:
    """No fitted metric of any group is identified (every law passes through its cell means or has no
    interval): the grid shows the pipeline working, not a law."""
    return not any(mf.identified for g in fits.groups for mf in g.metrics.values())



def _at_r(c) -> str:
    """'r = 0.42 [...]' or, for a censored point, 'r < 0.17 [...]' (never 'r = < 0.17')."""
    text = fmt_collapse(c)
    return f"r {text}" if text[:1] in "<>" else f"r = {text}"

def findings(fits, comparisons: bool = True) -> list[str]:
    """Generated finding sentences: the collapse comparison (only from identified fits with an interval) and
    the paired supervision / schedule comparisons (a difference is stated only when its interval excludes 0)."""
    from taskdistill.scaling.compare import sentence

    out = []
    gm = _general(fits)
    if is_demonstration(fits):
        out.append("This grid is a demonstration of the pipeline, not a law: no fit here has more cells than free "
                   "parameters and an interval (one data size or two ratios fix or exhaust the law's parameters), "
                   "so no collapse point or law is stated as a finding. A grid with >= 3 data sizes, >= 3 ratios and "
                   ">= 2 seeds identifies the laws.")
    for g in fits.groups:
        for gap in g.gaps:
            if gap["general"] != gm or gap["indomain"] != "indomain.macro_f1" or not gap.get("identified"):
                continue
            a, b = g.metrics[gap["general"]].collapse, g.metrics[gap["indomain"]].collapse
            lo, hi = gap["ci"]
            verdict = ("general knowledge collapses first" if lo > 0 else
                       "in-domain quality collapses first" if hi < 0 else
                       "the order is not resolved at this grid")

            def ex(c):
                return " (far extrapolation)" if c.get("far") else " (extrapolated)" if c["extrapolated"] else ""

            out.append(f"{g.name}: {metric_spec(gm).label} loses half its teacher-to-chance margin at "
                       f"{_at_r(a)}{ex(a)}, in-domain macro-F1 at {_at_r(b)}{ex(b)}; "
                       f"gap {_ci(gap['gap'], lo, hi)}: {verdict}.")
    no_margin = sorted({f"{metric_spec(m).label}: {mf.collapse['note']}" for g in fits.groups
                        for m, mf in g.metrics.items() if mf.collapse and mf.spec.domain == "general"
                        and mf.collapse["status"] in ("teacher_at_chance", "margin_small", "margin_unknown")})
    out += [f"No collapse point for {x}." for x in no_margin]
    if comparisons:
        out += [sentence(c) for c in getattr(fits, "comparisons", []) or []]
    return out


def recommendation_scenarios(df: pd.DataFrame, fits) -> list[tuple[str, Any]]:
    """Questions a user would ask, answered by :func:`taskdistill.scaling.recommend` from the fits."""
    from taskdistill.scaling.recommend import recommend

    t = teacher_levels(df)
    rows = fit_rows(df)
    f1_ref = t.get("indomain.macro_f1", float(rows["indomain.macro_f1"].max())
                   if "indomain.macro_f1" in rows and rows["indomain.macro_f1"].notna().any() else None)
    if f1_ref is None or not np.isfinite(f1_ref):
        return []
    out = []
    for frac in (0.95, 0.9, 0.8):
        q = f"Smallest student and least data keeping {frac:.0%} of the teacher's macro-F1 ({frac * f1_ref:.3f})"
        out.append((q, recommend(df, fits, min_f1=frac * f1_ref)))
    gm = _general(fits)
    if gm in t:
        spec = metric_spec(gm)
        mm = spec.chance + 0.5 * (t[gm] - spec.chance)
        q = (f"Keep 90% of the teacher's macro-F1 and at least half of its {spec.label} margin over chance "
             f"({spec.label} >= {mm:.3f})")
        out.append((q, recommend(df, fits, min_f1=0.9 * f1_ref, min_mmlu=mm, general_metric=gm)))
    ratio = rows["params_ratio"].dropna()
    if "target" in rows and rows["target"].notna().any():  # one question per requested ratio, at its median
        ratio = rows.dropna(subset=["params_ratio"]).groupby("target")["params_ratio"].median()
    ratios = sorted({round(float(r), 3) for r in ratio})
    for r in ratios[:4]:
        q = (f"A student of {r:.1%} of the teacher: least data and which supervision / method / schedule "
             f"for 80% of the teacher's macro-F1 ({0.8 * f1_ref:.3f})")
        out.append((q, recommend(df, fits, min_f1=0.8 * f1_ref, params=r)))
    return out


def _rec_table(scen) -> pd.DataFrame:
    recs = []
    for q, rec in scen:
        s = rec.setting or {}
        recs.append({"question": q, "answer": ("" if rec.feasible else "NOT MET: ") + rec.message,
                     "setting": (f"{s.get('supervision')}/{s.get('method')}/{s.get('schedule')}, r={s.get('params_ratio')}, "
                                 f"D={s.get('dataset_size')}") if rec.feasible and s else "-",
                     "confident": "yes" if rec.confident else "no", "extrapolated": "yes" if rec.extrapolated else "no"})
    return pd.DataFrame(recs)


# ------------------------------------------------------------------------------------------------ paper findings

RESOLVING_GRID = ">= 3 data sizes, >= 3 ratios and >= 2 seeds"
F1_TARGET_MAE = 0.03  # macro-F1 units: the extrapolation error the in-domain law should stay within


def _main_group(fits, metric: str = "indomain.macro_f1"):
    """The group the paper's in-domain law is stated for: label supervision, iterative schedule (logit KD
    first), else the first group that fitted ``metric``."""
    cands = [g for g in fits.groups if metric in g.metrics]
    if not cands:
        return None

    def rank(g):
        k = g.key
        return (k.get("supervision") != "label", k.get("schedule") != "iterative", k.get("method") != "logit")

    return min(cands, key=rank)


def _f1_line(fits) -> str:
    head = "F1, in-domain quality falls predictably with compression"
    g = _main_group(fits)
    if g is None:
        return f"{head}: not measured (no group has in-domain macro-F1 values)."
    mf = g.metrics["indomain.macro_f1"]
    ff = mf.best()
    if mf.status != "ok" or ff is None:
        return f"{head}: not resolved at this grid ({g.name}: {'; '.join(mf.notes) or mf.status}); a grid with " \
               f"{RESOLVING_GRID} fits the law."
    parts = [f"{g.name}: law '{ff.form}'"]
    D_max, r_min = max(mf.D_levels), min(mf.r_levels)
    if mf.identified:
        mean, lo, hi = mf.predict(np.array([D_max]), np.array([r_min]))
        at = f"at the harshest ratio r = {r_min:.3f}, D = {D_max / 1000:g}k"
        if mf.chance is not None and np.isclose(float(hi[0]), mf.chance, atol=5e-4):
            # every bootstrap law is floored at chance there: a zero-width interval would overstate it
            parts.append(f"predicts macro-F1 at its chance level {_f(float(mf.chance))} {at} (the laws are floored "
                         "at chance, so this is a floor, not an estimate)")
        else:
            parts.append(f"predicts macro-F1 {_ci(float(mean[0]), float(lo[0]), float(hi[0]))} {at}")
    e = ff.extrapolation or {}
    if e.get("status") == "ok":
        for part, label in (("harshest_r", f"the held-out harshest ratio r = {e['r_min']:.3f}"),
                            ("largest_D", f"the held-out largest D = {e['D_max'] / 1000:g}k")):
            if part in e:
                mae = e[part]["mae"]
                ok = "" if part != "harshest_r" else (f" (target <= {F1_TARGET_MAE}: "
                                                     f"{'met' if mae <= F1_TARGET_MAE else 'NOT met'})")
                parts.append(f"extrapolation MAE {_f(mae)} macro-F1 on {label}{ok}")
        parts.append(f"trained on D <= {e['train_D_max'] / 1000:g}k, r >= {e['train_r_min']:.3f}")
    else:
        note = e.get("note", "")
        parts.append("no extrapolation test (a law is fitted without the largest D and the harshest ratio and "
                     "tested on them: it needs >= 3 data sizes and >= 3 ratios"
                     + ("" if not note or note.startswith("needs") else f"; {note}") + ")")
    if not mf.identified:
        why = "exactly determined (passes through the cell means)" if ff.exact else "no bootstrap interval"
        return f"{head}: not resolved at this grid ({'; '.join(parts)}; {why}); a grid with {RESOLVING_GRID} " \
               "identifies the law."
    return f"{head}: {'; '.join(parts)}."


def _f2_line(fits) -> str:
    from taskdistill.scaling.compare import verdict

    head = "F2, general knowledge collapses at a milder compression than in-domain quality"
    gm = _general(fits)
    g = _main_group(fits)
    if g is None or gm not in g.metrics:
        return f"{head}: not measured ({metric_spec(gm).label} or in-domain macro-F1 has no values in the table)."
    c = g.metrics[gm].collapse
    need = fits.settings.get("min_margin_se", 4.0)
    if c and c["status"] == "margin_small" and c.get("margin_se"):
        k = (need / c["margin_se"]) ** 2
        return (f"{head}: not resolved: no collapse point for {metric_spec(gm).label} ({g.name}): {c['note']}; "
                f"about {k:.1f}x as many general-knowledge items (SE shrinks as 1/sqrt(n)) or a stronger teacher "
                f"would give the {need:g}-SE margin a collapse point needs.")
    if c and c["status"] in ("teacher_at_chance", "margin_small", "margin_unknown"):
        return f"{head}: not resolved: no collapse point for {metric_spec(gm).label} ({g.name}): {c['note']}."
    gap = next((x for x in g.gaps if x["general"] == gm and x["indomain"] == "indomain.macro_f1"), None)
    if gap is None:
        return (f"{head}: not resolved ({g.name}): no collapse point for both {metric_spec(gm).label} and macro-F1 "
                "(see the collapse points table).")
    a, b = g.metrics[gm].collapse, g.metrics["indomain.macro_f1"].collapse
    where = f"{g.name}: {metric_spec(gm).label} at {_at_r(a)}, macro-F1 at {_at_r(b)}"
    if not gap.get("identified"):
        return (f"{head}: not resolved at this grid ({where}; gap {_f(gap['gap'])} without an interval: the laws "
                f"are not identified); a grid with {RESOLVING_GRID} gives the gap an interval.")
    lo, hi = gap["ci"]
    v = verdict({"estimate": gap["gap"], "ci": [lo, hi]})
    res = ("general knowledge collapses first" if lo > 0 else "in-domain quality collapses first" if hi < 0
           else v["why"])
    return f"{head}: gap r(general) - r(in-domain) {_ci(gap['gap'], lo, hi)} ({where}): {res}."


def _comparison_lines(head: str, comps: list[dict], factor: str, fits) -> list[str]:
    from taskdistill.scaling.compare import sentence

    mine = [c for c in comps if c["factor"] == factor]
    if not mine:
        what = "supervision formats" if factor == "supervision" else "schedules"
        extra = " beyond the first pruning step (identical by construction)" if factor == "schedule" else ""
        return [f"{head}: not measured: the grid has no matched cells (same data size, ratio and seed) of two "
                f"{what}{extra}."]
    gm = _general(fits) if fits is not None else None
    mine.sort(key=lambda c: (c["metric"] != "indomain.macro_f1", c["metric"] != gm))
    out = []
    for c in mine:
        s = sentence(c)
        out.append(f"{head}: " + (s if c["resolved"] else s.replace("(fewer than two matched pairs)",
                                                                      "(fewer than two matched pairs): "
                                                                      "not resolved at this grid")))
    return out


def paper_findings(df: pd.DataFrame, fits) -> list[str]:
    """One line per finding of the paper (F1 to F4), each an estimate with its 95 % interval or "not resolved"
    with what it would take; computed from the fits (collapse gaps, extrapolation test) and the paired
    comparisons of :mod:`taskdistill.scaling.compare` (recomputed from the table when there are no fits)."""
    from taskdistill.scaling.compare import compare_all

    if fits is not None:
        comps = list(fits.comparisons or [])
        lines = [_f1_line(fits), _f2_line(fits)]
    else:
        rows = fit_rows(df)
        metrics = [m for m in ("indomain.macro_f1", "mmlu.gold_prob") if m in rows and rows[m].notna().any()]
        comps = compare_all(df, metrics) if len(rows) else []
        lines = ["F1, in-domain quality falls predictably with compression: not resolved: no law could be fitted.",
                 "F2, general knowledge collapses at a milder compression than in-domain quality: not resolved: no "
                 "law could be fitted."]
    lines += _comparison_lines("F3, supervision format drives the trade-off", comps, "supervision", fits)
    lines += _comparison_lines("F4, iterative vs one-shot pruning", comps, "schedule", fits)
    return lines


# ------------------------------------------------------------------------------------------------ efficiency

EFFICIENCY = (("efficiency.params", "parameters", "{:,.0f}"), ("efficiency.size_bytes", "size on disk (MB)", None),
              ("efficiency.latency_ms_batch1", "latency batch 1 (ms)", "{:.1f}"),
              ("efficiency.headlines_per_s", "throughput (inputs/s)", "{:.1f}"))


def efficiency_table(df: pd.DataFrame) -> pd.DataFrame:
    """The teacher and each student ratio (the requested target, with the measured parameter ratios): median
    parameters, size on disk, batch-1 latency and throughput over the ratio's rows, each also as a share of
    the teacher's."""
    cols = [c for c, _, _ in EFFICIENCY if c in df]
    done = df[df["status"] == "done"]
    if not cols or done[cols].notna().sum().sum() == 0:
        return pd.DataFrame()
    done = done[done[cols].notna().any(axis=1)].copy()
    done["_t"] = done["method"] == TEACHER_METHOD
    r = done["params_ratio"].astype(float)
    target = done["target"].astype(float) if "target" in done else pd.Series(np.nan, index=done.index)
    done["_r"] = np.where(done["_t"], 1.0, np.where(target.notna(), target.round(3), r.round(2)))
    t = done[done["_t"]][cols].median() if done["_t"].any() else None
    recs = []
    for (teach, key), g in sorted(done.groupby(["_t", "_r"]), key=lambda kv: (not kv[0][0], -kv[0][1])):
        med = g[cols].median()
        lo, hi = float(g["params_ratio"].min()), float(g["params_ratio"].max())
        rr = f"{lo:.3f}" if round(lo, 3) == round(hi, 3) else f"{lo:.3f}-{hi:.3f}"
        rec = {"model": "teacher" if teach else f"student, target {key:g}", "params r": "1" if teach else rr,
               "rows": len(g)}
        for c, label, fmt in EFFICIENCY:
            if c not in cols:
                continue
            v = med[c]
            rec[label] = "-" if not np.isfinite(v) else (f"{v / 1e6:,.2f}" if fmt is None else fmt.format(v))
            if t is not None:
                share = f"{label.split(' (')[0]} / teacher"
                rec[share] = "-" if teach else _f(v / t[c], 3) if np.isfinite(v) and t[c] else "-"
        recs.append(rec)
    return pd.DataFrame(recs)


def _efficiency_caption(df: pd.DataFrame, quiet: dict | None = None) -> str:
    if quiet is not None:
        m, st = quiet["machine"], quiet["settings"]
        skipped = len(quiet.get("skipped") or [])
        return ("Efficiency of each model as a classifier of its task, measured again after the sweep, one model at "
                f"a time on a quiet machine (`taskdistill sweep efficiency`; {m['cpu']}{_kernels(m)}, {m['cores']} cores, "
                f"{m['torch_threads']} torch thread(s), torch {m['torch']}, load average "
                f"{m['load_before'][0]:.2f} before and {m['load_after'][0]:.2f} after): the teacher and up to "
                f"{st['per_target']} students per target ratio (one per schedule first), median over them; "
                f"latency = median wall time of scoring one of {st['latency_n']} inputs alone (batch 1); "
                f"throughput = inputs per second over {st['limit']} inputs at batch {st['batch_size']} (best of "
                f"{st['repeats']}); '/ teacher' is the student's value divided by the teacher's (below 1 = smaller "
                "or faster, except throughput, where above 1 = faster)"
                + (f"; {skipped} picked model(s) skipped (no longer in the cache)" if skipped else "") + ".")
    extra = []
    for col, what in (("efficiency.threads", "CPU threads"), ("efficiency.throughput_batch_size", "throughput batch"),
                      ("efficiency.device", "device")):
        if col in df and df[col].notna().any():
            vals = sorted({f"{v:g}" if isinstance(v, float) else str(v) for v in df[col].dropna()})
            extra.append(f"{what} {', '.join(vals)}")
    return ("Efficiency of each model as a classifier of its task: median over the rows of a target ratio (seeds, "
            "supervisions, schedules, data sizes; 'params r' is the range of their measured parameter ratios) of "
            "the parameters, the size of its weight files, the median "
            "wall time of scoring one input alone (batch 1) and the inputs scored per second; '/ teacher' is the "
            "student's value divided by the teacher's (below 1 = smaller or faster, except throughput, where "
            "above 1 = faster)" + (f"; measured with {'; '.join(extra)}" if extra else "") + ".")


# ------------------------------------------------------------------------------------------------ compute

def compute_table(compute: dict) -> pd.DataFrame:
    """Per stage kind, what the table's nodes cost as recorded when each was computed (the same for any run
    that reuses them: a rerun from the cache states the same compute)."""
    recs = []
    for s in [*compute["stages"], {"stage": "total", **compute["total"]}]:
        recs.append({"stage": s["stage"], "distinct nodes": s["nodes"], "uses by cells": s["uses"],
                     "uses served by a shared node": s["reuses"], "seconds": _f(float(s["node_seconds"]), 1),
                     "CPU seconds": _f(float(s["node_cpu_seconds"]), 1),
                     "CPU hours": _f(float(s["node_cpu_seconds"]) / 3600, 2),
                     "seconds saved by sharing": _f(float(s["shared_saved"]), 1)})
    return pd.DataFrame(recs)


def compute_sentence(compute: dict) -> str:
    t = compute["total"]
    share = t["reuses"] / t["uses"] if t["uses"] else float("nan")
    spent, saved = float(t["node_seconds"]), float(t["shared_saved"])
    out = (f"Computing the table took {t['nodes']} distinct stage nodes, {spent:,.1f} s of node wall time and "
           f"{float(t['node_cpu_seconds']) / 3600:,.2f} CPU-hours, as recorded when each node was computed"
           + (f" ({t['unrecorded']} node(s) lack a recorded wall or CPU time, counted as 0)" if t.get("unrecorded") else "")
           + (f", {', '.join(map(str, compute['torch_threads']))} torch thread(s) per worker"
              if compute.get("torch_threads") else "")
           + f"; {t['reuses']} of the {t['uses']} node uses by the {compute['cells']['done']} finished cells "
             f"({share:.0%}) were served by a node another cell had already needed, which saved about {saved:,.1f} s"
           + (f" ({saved / (spent + saved):.0%} of the total without sharing)" if spent + saved > 0 else "") + ".")
    ann = next((s for s in compute["stages"] if s["stage"] == "annotate"), None)
    if ann and ann["uses"]:
        out += (f" The teacher annotated the training rows in {ann['nodes']} pass(es) used by {ann['uses']} "
                "cells.")
    return out


# ------------------------------------------------------------------------------------------------ summary


def _model_label(row) -> str:
    if row["method"] == "teacher":
        return "teacher"
    if row["method"] == "pruned":  # pruned one-shot, not distilled (no dataset size)
        return f"r={row['params_ratio']:.3f} pruned, not distilled"
    return (f"r={row['params_ratio']:.3f} {row['supervision']}/{row['method']}/{row['schedule']} "
            f"D={int(row['dataset_size'])} seed {int(row['seed'])}")


def _mean_ci(vals: np.ndarray) -> tuple[float, float | None, float | None]:
    """Mean and its 95% t-interval over seeds (no interval from one value)."""
    vals = np.asarray(vals, dtype=float)
    vals = vals[np.isfinite(vals)]
    if len(vals) == 0:
        return float("nan"), None, None
    m = float(vals.mean())
    if len(vals) < 2:
        return m, None, None
    from scipy import stats

    h = float(stats.t.ppf(0.975, len(vals) - 1) * vals.std(ddof=1) / np.sqrt(len(vals)))
    return m, m - h, m + h


def _best_setting(g: pd.DataFrame, metric: str = "indomain.macro_f1") -> tuple[tuple, pd.DataFrame] | None:
    """The student setting (supervision, method, schedule, data size) of ``g`` with the best mean ``metric`` over
    seeds, and its rows; None when no row has the metric."""
    cells = [(k, c) for k, c in g.groupby([*GROUP_BY, "dataset_size"], dropna=False) if c[metric].notna().any()]
    return max(cells, key=lambda kc: np.nanmean(kc[1][metric].to_numpy(float))) if cells else None


def _gap_cell(gap: float, lo: float | None, hi: float | None) -> str:
    """A signed gap with its interval, 'not resolved' where the interval includes 0; '-' when there is none."""
    if not np.isfinite(gap):
        return "-"
    if lo is None:
        return f"{gap:+.3f}"
    return f"{gap:+.3f} [{lo:+.3f}, {hi:+.3f}]" + ("" if lo > 0 or hi < 0 else " (not resolved)")


def best_students(df: pd.DataFrame, metric: str = "indomain.macro_f1") -> pd.DataFrame:
    """For each measured ratio (target), the student setting with the best mean ``metric`` over seeds
    and the share of the teacher's ``metric`` it keeps; 95% t-intervals over seeds where there are >= 2."""
    rows = fit_rows(df)
    t = teacher_levels(df).get(metric)
    if metric not in rows or rows[metric].isna().all():
        return pd.DataFrame()
    recs = []
    for target, g in sorted(rows.groupby("target"), key=lambda tg: -tg[0]):  # mildest compression first
        picked = _best_setting(g, metric)
        if picked is None:
            continue
        (sup, method, sched, d), best = picked
        m, lo, hi = _mean_ci(best[metric].to_numpy(float))
        rec = {"target": f"{target:.2f}", "params r": _f(float(best["params_ratio"].mean())),
               "best student": f"{sup}/{method}/{sched}, D={int(d)}", "seeds": int(best["seed"].nunique()),
               "macro-F1": _ci(m, lo, hi)}
        if t:
            rec["share of teacher"] = (_ci(m / t, lo / t, hi / t) if lo is not None else _f(m / t))
        recs.append(rec)
    return pd.DataFrame(recs)


def _teacher_sentence(df: pd.DataFrame, task) -> str:
    t = teacher_levels(df)
    if not t:
        return "No teacher row: shares of the teacher cannot be computed."
    parts = []
    for col, name in (("indomain.macro_f1", "macro-F1"), ("indomain.accuracy", "accuracy"),
                      ("indomain.nll", "NLL"), ("indomain.brier", "Brier")):
        if col in t:
            parts.append(f"{name} {_f(t[col])}")
    out = f"Teacher on the synthetic test split ({task.n_classes} labels): " + ", ".join(parts)
    if "mmlu.acc" in t:
        se = t.get("mmlu.acc_stderr")
        out += f"; MMLU accuracy {_f(t['mmlu.acc'])}" + (f" ± {_f(se)}" if se else "") + " (chance 0.25)"
    return out + "."


def _transfer_comparator(df: pd.DataFrame, ts: dict, task) -> tuple[str, str]:
    """(synthetic column, its description) at the transfer set's label granularity."""
    from taskdistill.task import load_task

    try:
        tt = load_task(ts["task"])
    except Exception:  # noqa: BLE001  (the set's task file moved: compare with the sweep task's score)
        tt = task
    if tt.hash != task.hash and tt.derive is not None and "indomain.macro_f1_coarse" in df:
        return "indomain.macro_f1_coarse", f"synthetic macro-F1 over the {len(task.group_names)} groups"
    return "indomain.macro_f1", "synthetic macro-F1"


def transfer_table(df: pd.DataFrame, ts: dict, task) -> tuple[pd.DataFrame, str]:
    """Synthetic vs transfer macro-F1 for the teacher and each student, with the gap; and a caption."""
    name = ts["name"]
    col = f"transfer.{name}.macro_f1"
    syn, syn_desc = _transfer_comparator(df, ts, task)
    done = df[df["status"] == "done"].copy()
    done["_t"] = done["method"] == "teacher"
    done = done.sort_values(["_t", "params_ratio"], ascending=[False, False])
    syn_se = f"{syn}_stderr"
    recs = []
    for _, row in done.iterrows():
        v, se = row.get(col), row.get(f"transfer.{name}.macro_f1_stderr")
        err = row.get(f"transfer.{name}.error")
        s = row.get(syn)
        rec = {"model": _model_label(row), "synthetic macro-F1": _f(row.get("indomain.macro_f1"))}
        if syn != "indomain.macro_f1":
            rec["synthetic group macro-F1"] = _f(s)
        if isinstance(err, str) and err:
            rec[f"transfer macro-F1 ({name})"] = f"failed: {err}"
            rec["transfer accuracy"] = rec["gap"] = "-"
        elif v is None or not np.isfinite(v):
            rec[f"transfer macro-F1 ({name})"] = rec["transfer accuracy"] = rec["gap"] = "-"
        else:
            rec[f"transfer macro-F1 ({name})"] = f"{_f(v)} ± {_f(se)}"
            rec["transfer accuracy"] = _f(row.get(f"transfer.{name}.accuracy"))
            gap = v - s if s is not None and np.isfinite(s) else float("nan")
            sse = row.get(syn_se)
            if np.isfinite(gap) and sse is not None and np.isfinite(sse) and se is not None and np.isfinite(se):
                h = 1.96 * float(np.hypot(se, sse))
                rec["gap"] = _gap_cell(gap, gap - h, gap + h)
            else:
                rec["gap"] = _gap_cell(gap, None, None)
        recs.append(rec)
    n = done.get(f"transfer.{name}.n")
    n = int(n.dropna().iloc[0]) if n is not None and n.notna().any() else None
    cap = (f"Transfer set '{name}': {ts['split']} ({n if n is not None else '?'} rows, task '{ts['task']}'). "
           f"gap = transfer macro-F1 - {syn_desc} (the same labels on both sides); negative = the model does "
           "worse on this set than on the synthetic test split. ± is the transfer score's bootstrap standard "
           "error (row resamples of the file). "
           + ("The gap's [95% interval] combines both standard errors; 'not resolved' where it includes 0."
              if syn_se in df else "The synthetic score has no standard error in the results table, so the gap "
              "has no interval and states no finding."))
    return pd.DataFrame(recs), cap


def transfer_by_ratio(df: pd.DataFrame, ts: dict, task) -> tuple[pd.DataFrame, str]:
    """Per measured ratio, the student a synthetic evaluation picks (the best mean synthetic macro-F1 over seeds,
    as in :func:`best_students`; chosen without looking at the transfer set) and how it does there: its transfer
    macro-F1, its synthetic score at the set's label granularity and their per-seed gap, each a mean over seeds
    with a 95% t-interval; the teacher first. Empty when no model has a score on the set."""
    name = ts["name"]
    col = f"transfer.{name}.macro_f1"
    syn, syn_desc = _transfer_comparator(df, ts, task)
    if col not in df or not df[col].notna().any() or syn not in df:
        return pd.DataFrame(), ""
    done = df[df["status"] == "done"]
    teacher = done[done["method"] == "teacher"]
    t_val = float(teacher[col].mean()) if len(teacher) and teacher[col].notna().any() else None
    recs = []
    if t_val is not None:
        se = teacher.get(f"{col}_stderr")
        se = float(se.mean()) if se is not None and se.notna().any() else None
        s_val = float(teacher[syn].mean()) if teacher[syn].notna().any() else float("nan")
        recs.append({"target": "1.00", "model": "teacher", "seeds": 1,
                     f"transfer macro-F1 ({name})": f"{_f(t_val)}" + (f" ± {_f(se)}" if se is not None else ""),
                     "synthetic": _f(s_val), "gap": _gap_cell(t_val - s_val, None, None),
                     "share of the teacher's transfer macro-F1": "-"})
    rows = fit_rows(df)
    for target, g in sorted(rows.groupby("target"), key=lambda tg: -tg[0]):  # mildest compression first
        picked = _best_setting(g)  # as in the summary's best-student table
        if picked is None:
            continue
        (sup, method, sched, d), best = picked
        best = best[best[col].notna()]  # the seeds scored on the set (all three columns over the same models)
        if best.empty:
            continue
        tv, sv = best[col].to_numpy(float), best[syn].to_numpy(float)
        m, lo, hi = _mean_ci(tv)
        sm, slo, shi = _mean_ci(sv)
        gm, glo, ghi = _mean_ci(tv - sv)
        rec = {"target": f"{target:.2f}", "model": f"{sup}/{method}/{sched}, D={int(d)}",
               "seeds": int(np.isfinite(tv).sum()), f"transfer macro-F1 ({name})": _ci(m, lo, hi),
               "synthetic": _ci(sm, slo, shi), "gap": _gap_cell(gm, glo, ghi),
               "share of the teacher's transfer macro-F1": (
                   "-" if not t_val else _ci(m / t_val, lo / t_val if lo is not None else None,
                                             hi / t_val if hi is not None else None))}
        recs.append(rec)
    cap = (f"Transfer set '{name}' ({ts['task']}) by ratio: for each measured ratio, the student setting with the "
           "best mean synthetic macro-F1 over seeds (chosen without looking at this set), its macro-F1 on the set, "
           f"its {syn_desc} ('synthetic') and the gap between the two (transfer minus synthetic, per seed), each a "
           "mean over seeds with its [95% t-interval]; 'not resolved' where the gap's interval includes 0. The "
           "teacher is one model: ± is its transfer score's bootstrap standard error. Every model's score is in "
           "the section 'Transfer sets: every model'.")
    return pd.DataFrame(recs), cap


# ------------------------------------------------------------------------------------------------ sections


@dataclass
class _Ctx:
    """Everything the sections read: the validated table, its student rows, the teacher's levels, the fits."""

    df: pd.DataFrame
    rows: pd.DataFrame
    teacher: dict
    fits: Any
    fit_error: str | None
    title: str
    metrics: list[str]
    task: Any
    transfer: list[dict]
    compute: dict | None = None  # the sweep's compute summary (compute.json), if any
    compute_where: str | None = None  # where it was looked for when there is none
    efficiency: dict | None = None  # the quiet re-measurement of speed (efficiency.json), if any


def _header(c: _Ctx) -> list[Block]:
    n_failed = int((c.df["status"] != "done").sum())
    return [Block("h1", c.title),
            Block("p", f"Generated {datetime.now(UTC).isoformat(timespec='seconds')} from "
                       f"{c.df.attrs.get('source', 'a results table')}: {len(c.df)} rows, {len(c.rows)} finished "
                       f"students, {n_failed} failed or unfinished (ignored), teacher row: "
                       f"{'yes' if c.teacher else 'no'}. Compression ratio r = student parameters / teacher "
                       "parameters, counting embeddings (the non-embedding ratio is in the results table).")]


def _summary(c: _Ctx) -> list[Block]:
    """What a practitioner acts on: the teacher, the best student per ratio, transfer, the trade-off."""
    from taskdistill.report import figures as F

    B = [Block("h2", "Summary"), Block("p", _teacher_sentence(c.df, c.task))]
    bs = best_students(c.df)
    if not bs.empty:
        B.append(Block("table", bs, "Best student per measured ratio (highest mean macro-F1 over seeds among the "
                                    "supervision / method / schedule / data-size settings) and the share of the "
                                    "teacher's macro-F1 it keeps; [95% interval over seeds] where a setting has "
                                    ">= 2 seeds."))
    else:
        B.append(Block("p", "No finished student with an in-domain macro-F1 yet."))
    B += [Block("h3", "Paper findings"), Block("ul", paper_findings(c.df, c.fits))]
    quiet = c.efficiency
    et = efficiency_table(efficiency_rows(quiet) if quiet is not None else c.df)
    B.append(Block("h3", "Efficiency"))
    B.append(Block("table", et, _efficiency_caption(c.df, quiet)) if not et.empty else
             Block("p", "No efficiency measurements in the results table (the models were evaluated without "
                        "timing)."))
    for ts in c.transfer:
        if not ts.get("found"):
            B.append(Block("p", f"Transfer set '{ts['name']}': no transfer set found at {ts['split']} (the run "
                                "went on without it)."))
            continue
        tt, cap = transfer_by_ratio(c.df, ts, c.task)
        if not tt.empty:
            B.append(Block("table", tt, cap))
    fig = F.fig_tradeoff(c.rows, c.teacher)
    if fig is not None:
        B.append(Block("fig", fig, "In-domain vs general-knowledge trade-off and its Pareto frontier.", "tradeoff"))
    else:
        B.append(Block("p", "No tradeoff figure: no row has both in-domain macro-F1 and MMLU accuracy."))
    B.append(Block("h3", "Findings by group (collapse points)"))
    if c.fits is None:
        B.append(Block("p", f"No scaling law could be fitted: {c.fit_error}. The figures below show the measured "
                            "points only."))
    else:
        # the paired supervision / schedule comparisons are in the paper findings above
        B.append(Block("ul", findings(c.fits, comparisons=False) or [
            "No group has both a general-knowledge and an in-domain collapse point with an interval: the collapse "
            "comparison needs an identified law for both metrics."]))
    return B


def _figures(c: _Ctx) -> list[Block]:
    from taskdistill.report import figures as F

    B = [Block("h2", "Figures")]
    for m in c.metrics:
        fig = F.fig_vs_compression(c.rows, c.fits, m, c.teacher)
        if fig is not None:
            B.append(Block("fig", fig, f"{metric_spec(m).label} vs compression per supervision / method / schedule; "
                                       "teacher (dashed) and chance (dotted) levels, fitted law with its interval "
                                       "at the largest data size, collapse point in red.", f"vs_compression_{m}"))
    why = {"schedules": "the sweep has no cells measured with both the iterative and the one-shot schedule",
           "collapse": "no collapse point could be computed",
           "extrapolation": "no law could be fitted on the smaller data sizes and milder ratios alone "
                            "(needs >= 2 data sizes and >= 2 ratios, and enough cells for the law)",
           "vs_data": "no metric values"}
    for name, fig, cap in (
        ("vs_data", F.fig_vs_data(c.rows, c.fits, c.metrics, c.teacher), "Metrics vs dataset size, fitted laws as "
                                                                         "lines."),
        ("schedules", F.fig_schedules(c.rows, c.metrics), "Iterative vs one-shot pruning on matched cells (the first "
                                                          "pruning step, identical by construction, excluded)."),
        ("collapse", F.fig_collapse(c.fits), "Collapse points with bootstrap intervals."),
        ("extrapolation", F.fig_extrapolation(c.fits), "Extrapolation test errors of the chosen laws."),
    ):
        B.append(Block("fig", fig, cap, name) if fig is not None else
                 Block("p", f"No {name.replace('_', ' ')} figure: {why[name]}."))
    return B


def _recommendations(c: _Ctx) -> list[Block]:
    if c.fits is None:
        return []
    B = [Block("h2", "Recommendations (computed from the fits)"),
         Block("p", "Cheapest = inside the measured range first, then the smallest student, then the least data. "
                    "Intervals are pointwise bootstrap intervals of the chosen law; 'confident' means the whole "
                    "interval clears the constraint.")]
    scen = recommendation_scenarios(c.df, c.fits)
    B.append(Block("table", _rec_table(scen)) if scen else
             Block("p", "No in-domain macro-F1 values: no recommendation can be computed."))
    return B


def diagnostics_table(fits) -> pd.DataFrame:
    """One row per group and metric: the chosen law and whether it supports a finding, and why not."""
    recs = []
    for g in fits.groups:
        for m, mf in g.metrics.items():
            ff = mf.best()
            if mf.status != "ok" or ff is None:
                status, why = "not fitted", "; ".join(mf.notes)
            elif mf.identified:
                status, why = "identified", "; ".join(_constraining(ff.notes))
            else:
                status = "no interval, no finding"
                why = "; ".join(["exactly determined (passes through the cell means)" if ff.exact else
                                 "no bootstrap interval", *_constraining(ff.notes)])
            if mf.tied:
                why = "; ".join(x for x in (why, f"tie between {', '.join(mf.tied)} (collapse intervals mix them)")
                                if x)
            recs.append({"group": g.name, "metric": metric_spec(m).label, "law": mf.chosen or "-",
                         "status": status, "why": why or "-"})
    return pd.DataFrame(recs)


def _diagnostics(c: _Ctx) -> list[Block]:
    if c.fits is None:
        return []
    B = [Block("h2", "Fit diagnostics"),
         Block("table", diagnostics_table(c.fits), "Every fitted law: 'identified' laws (more cells than free "
                                                   "parameters, with a bootstrap interval) are the only ones "
                                                   "findings are stated from.")]
    mt = margin_table(c.df, c.fits.settings, c.task)
    if not mt.empty:
        B.append(Block("table", mt, "The teacher's margin over chance (or floor) on each general-knowledge metric in "
                                    "its own standard errors; a collapse point needs "
                                    f">= {c.fits.settings.get('min_margin_se', 4.0):g} SE."))
    return B


def _fitted_laws(c: _Ctx) -> list[Block]:
    if c.fits is None:
        return []
    fits = c.fits
    B = [Block("h2", "Fitted laws"),
         Block("ul", [f"{f}: {get_form(f).formula}" for f in fits.settings["forms"]]
               + ["L is the distance to ideal: 1 - F1, 1 - accuracy, NLL, Brier, -loglik; D in examples."]),
         Block("table", _params_table(fits), "Chosen law per group and metric with bootstrap intervals."),
         Block("h3", "Model choice (held-out log-RMSE by cell, * = chosen)"),
         Block("table", _choice_table(fits)),
         Block("h3", "Collapse points")]
    ct = _collapse_table(fits)
    B.append(Block("table", ct) if not ct.empty else
             Block("p", "No collapse points (no fitted metric with a chance level)."))
    gt = _gap_table(fits)
    if not gt.empty:
        B.append(Block("table", gt, "Paired bootstrap of collapse(general) - collapse(in-domain): positive = general "
                                    "knowledge collapses at a milder compression."))
    B += [Block("h3", "Extrapolation test"), Block("table", _extrap_table(fits))]
    return B


def _transfer_sets(c: _Ctx) -> list[Block]:
    """Every model's score on each transfer set found, beside its synthetic score."""
    found = [ts for ts in c.transfer if ts.get("found")]
    if not found:
        return []
    B = [Block("h2", "Transfer sets: every model")]
    for ts in found:
        tt, cap = transfer_table(c.df, ts, c.task)
        B.append(Block("table", tt, cap))
    return B


def _data(c: _Ctx) -> list[Block]:
    t = c.task
    groups = f" in {len(t.group_names)} groups" if t.has_groups else ""
    k = len(t.label_names)
    return [Block("h2", "Data"),
            Block("p", f"Task '{t.name}': classify the field '{t.input_field}' into {t.n_classes} labels{groups}: "
                       + ", ".join(t.label_names) + "."),
            Block("table", _data_summary(c.df)),
            Block("table", _levels_table(c.df, c.metrics, t),
                  f"Teacher and chance levels for the task '{t.name}' ({k} labels). Chance: 1/{k} for accuracy and "
                  f"macro-F1 (uniform guess), ln {k} for NLL, 1 - 1/{k} for the multi-class Brier score; 0.25 for "
                  "MMLU accuracy and gold probability (four options), 0 for the gold-vs-distractor margin.")]


def _compute(c: _Ctx) -> list[Block]:
    B = [Block("h2", "Compute spent")]
    if c.compute is None:
        where = f" at {c.compute_where}" if c.compute_where else ""
        return [*B, Block("p", f"No compute summary{where}: `taskdistill sweep export SWEEP --out results.csv` "
                               "writes compute.json beside the results table.")]
    return [*B, Block("p", compute_sentence(c.compute)),
            Block("table", compute_table(c.compute),
                  "Per stage kind: distinct nodes the finished cells needed, how often cells used them, and how "
                  "many of those uses went to a node another cell had already needed (shared); seconds and CPU "
                  "seconds = each node's wall and CPU time as recorded when it was computed (CPU: every thread of "
                  "the process that computed it); seconds saved by sharing = what the shared uses would have "
                  "cost recomputed. A rerun that finds the nodes in the cache states the same figures; what a "
                  "particular run computed itself is in compute.json.")]


def _settings(c: _Ctx) -> list[Block]:
    from taskdistill.info import versions

    # the fit's settings, not its wall time: a refit of the same table writes the same report
    settings = {"fit settings": c.fits.settings if c.fits else "-"}
    vt = pd.DataFrame([{"item": k, "value": str(v)} for k, v in {**versions(), **settings}.items()])
    return [Block("h2", "Settings and versions"), Block("table", vt)]


SECTIONS = (_header, _summary, _figures, _recommendations, _diagnostics, _fitted_laws, _transfer_sets, _data, _compute,
            _settings)


def _blocks(df: pd.DataFrame, fits, fit_error: str | None, title: str, metrics=DEFAULT_METRICS,
            task=None, transfer: list[dict] | None = None, compute: dict | None = None,
            compute_where: str | None = None, efficiency: dict | None = None) -> list[Block]:
    """The report as blocks, section by section (``SECTIONS``): summary first, then figures,
    recommendations, the fit diagnostics, the fitted laws in detail, the data and the settings."""
    from taskdistill.task import load_task

    task_obj = load_task(task if task is not None else (fits.task if fits is not None else "finheadlines"))
    rows = fit_rows(df)
    c = _Ctx(df=df, rows=rows, teacher=teacher_levels(df), fits=fits, fit_error=fit_error, title=title,
             metrics=[m for m in metrics if m in rows and rows[m].notna().any()], task=task_obj,
             transfer=list(transfer or []), compute=compute, compute_where=compute_where, efficiency=efficiency)
    return [b for section in SECTIONS for b in section(c)]


# ------------------------------------------------------------------------------------------------ render

CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}h1{border-bottom:2px solid #446}h2{margin-top:1.6em;border-bottom:1px
solid #ccd}table{border-collapse:collapse;font-size:12px;margin:.6em 0}td,th{border:1px solid #ccd;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#eef}figure{margin:1em 0}img{max-width:100%;height:auto}
figcaption{font-size:12px;color:#555}.cap{font-size:12px;color:#555}"""

CHECK_JS = """window.addEventListener("load",function(){var im=document.images,ok=0;
for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0){ok++;}else{
console.error("figure failed to load: "+im[i].alt);}}
document.body.setAttribute("data-images-total",im.length);document.body.setAttribute("data-images-loaded",ok);});"""


def _render(blocks: list[Block], out_dir: Path, dpi: int = 90) -> tuple[str, str]:
    h = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
         f"<title>{html.escape(blocks[0].content)}</title><style>{CSS}</style></head><body>"]
    md = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            h.append(f"<{b.kind}>{html.escape(b.content)}</{b.kind}>")
            md.append("#" * int(b.kind[1]) + " " + b.content + "\n")
        elif b.kind == "p":
            h.append(f"<p>{html.escape(b.content)}</p>")
            md.append(b.content + "\n")
        elif b.kind == "ul":
            h.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in b.content) + "</ul>")
            md.append("\n".join(f"- {x}" for x in b.content) + "\n")
        elif b.kind == "table":
            h.append(b.content.to_html(index=False, border=0, escape=True))
            md.append(_md_table(b.content) + "\n")
            if b.caption:
                h.append(f"<p class='cap'>{html.escape(b.caption)}</p>")
                md.append(f"*{b.caption}*\n")
        elif b.kind == "fig":
            png = _png(b.content, dpi)
            fname = f"fig_{b.name.replace('.', '_')}.png"
            atomic_write_bytes(out_dir / fname, png)
            data = base64.b64encode(png).decode()
            h.append(f"<figure><img alt='{html.escape(b.name)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{html.escape(b.caption)}</figcaption></figure>")
            md.append(f"![{b.name}]({fname})\n\n*{b.caption}*\n")
    h.append(f"<script>{CHECK_JS}</script></body></html>")
    return "\n".join(h), "\n".join(md)


def build_report(results_df: pd.DataFrame, fits, out_dir: str | Path, *, title: str = "taskdistill scaling report",
                 fit_error: str | None = None, metrics: tuple[str, ...] = DEFAULT_METRICS,
                 dpi: int = 90, task=None, transfer: list[dict] | None = None,
                 compute: dict | None = None, efficiency: dict | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``fig_*.png``) into ``out_dir``.

    ``fits`` may be ``None`` (nothing fittable): the report then shows the measured points and says why
    (pass the fitting error as ``fit_error``). ``metrics`` are the columns plotted (those without values
    are skipped); ``dpi`` sets figure resolution; ``task`` (a Task, name or path; default: the task the fits
    were made for) names the labels and chance levels. ``transfer`` lists the transfer sets
    (``{name, split, task, found}``; default: ``results_df.attrs["transfer"]``, else ``transfer_sets.json``
    beside the results file): the summary shows each found
    set's scores beside the synthetic ones and names the path of each one not found. ``compute`` is the
    sweep's compute summary (``taskdistill.sweep.compute``; default: ``results_df.attrs["compute"]``, else
    ``compute.json`` beside the results file named by ``results_df.attrs["source"]``); without one the
    "Compute spent" section says so in one line. ``efficiency`` is the quiet re-measurement of the models'
    speed (``taskdistill.sweep.efficiency``; default: ``efficiency.json`` beside the results file or in the sweep
    folder); with one, the efficiency table shows it instead of the timings taken inside the sweep.
    """
    from taskdistill.report.compute import compute_beside
    from taskdistill.report.efficiency import efficiency_beside
    from taskdistill.report.transfer import transfer_beside

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = validate(results_df)
    if transfer is None:  # the sweep's transfer sets, as ``sweep.store.load_results`` attaches them
        transfer = results_df.attrs.get("transfer")
    if transfer is None:  # a results file: the sets ``sweep export`` listed beside it
        transfer = transfer_beside(results_df.attrs.get("source")) or []
    where = None
    if compute is None:
        compute = results_df.attrs.get("compute")
    if compute is None:
        compute, path = compute_beside(results_df.attrs.get("source"))
        where = str(path) if path else None
    if efficiency is None:
        efficiency = efficiency_beside(results_df.attrs.get("source"))
    blocks = _blocks(df, fits, fit_error or ("no fits given" if fits is None else None), title, metrics, task,
                     transfer, compute, where, efficiency)
    page, md = _render(blocks, out_dir, dpi)
    html_path = atomic_write_text(out_dir / REPORT_HTML, page)
    md_path = atomic_write_text(out_dir / REPORT_MD, md)
    return html_path, md_path
