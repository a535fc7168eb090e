"""Dataset statistics: sizes, class shares, diversity (distinct-n), the pipeline's per-iteration
table, and a difficulty probe.

The difficulty probe is a bag-of-words (uni+bigram) logistic regression trained on train and scored
on test (macro-F1). It is a floor, not the target: the point of the grammar's hard kinds (numbers,
multi-event precedence, distractors) is that word counts alone cannot solve them, so a probe near
1.0 means the task would saturate and compression curves would be flat.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from taskdistill.data.taxonomy import CATEGORIES, LABELS


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct-n: unique word n-grams / total n-grams (lower-cased), a standard diversity ratio."""
    total, seen = 0, set()
    for t in texts:
        w = t.lower().split()
        grams = [tuple(w[i:i + n]) for i in range(len(w) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return round(len(seen) / total, 4) if total else 0.0


def bow_probe(train: pd.DataFrame, test: pd.DataFrame, seed: int = 0) -> dict:
    """Macro-F1 / accuracy of a uni+bigram logistic regression (train -> test), fine and coarse."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    vec = CountVectorizer(ngram_range=(1, 2), min_df=2, lowercase=True)
    xtr = vec.fit_transform(train["headline"])
    clf = LogisticRegression(max_iter=2000, C=2.0, random_state=seed)
    clf.fit(xtr, train["label"])
    pred = clf.predict(vec.transform(test["headline"]))
    from taskdistill.data.taxonomy import coarse

    pc = [coarse(p) for p in pred]
    out = dict(model="CountVectorizer(1-2gram, min_df=2) + LogisticRegression(C=2)",
               macro_f1=round(float(f1_score(test["label"], pred, average="macro")), 4),
               accuracy=round(float(accuracy_score(test["label"], pred)), 4),
               coarse_macro_f1=round(float(f1_score(test["category"], pc, average="macro")), 4))
    if "kind" in test:  # where the difficulty lives: accuracy per headline kind
        ok = pd.Series(np.asarray(pred) == test["label"].to_numpy(), index=test.index)
        kinds = test["kind"].str.split(":").str[0]
        out["accuracy_by_kind"] = {k: round(float(ok[kinds == k].mean()), 4) for k in sorted(set(kinds))}
    return out


def dataset_stats(splits: dict[str, pd.DataFrame], history: list[dict] | None = None, extra: dict | None = None,
                  probe: bool = True) -> dict:
    allrows = pd.concat(splits.values(), ignore_index=True)
    out: dict = dict(sizes={k: len(v) for k, v in splits.items()}, total=len(allrows))
    counts = allrows["label"].value_counts()
    out["label_share"] = {lab: round(float(counts.get(lab, 0)) / len(allrows), 4) for lab in LABELS}
    out["min_label_share"] = min(out["label_share"].values())
    out["labels_per_split"] = {k: {lab: int(v["label"].value_counts().get(lab, 0)) for lab in LABELS}
                               for k, v in splits.items()}
    out["category_share"] = {c: round(float((allrows["category"] == c).mean()), 4) for c in CATEGORIES}
    texts = allrows["headline"].tolist()
    out["distinct_2"], out["distinct_3"] = distinct_n(texts, 2), distinct_n(texts, 3)
    out["mean_words"] = round(float(np.mean([len(t.split()) for t in texts])), 2)
    if "kind" in allrows:
        kinds = Counter(k.split(":")[0] for k in allrows["kind"])
        out["kind_share"] = {k: round(v / len(allrows), 4) for k, v in sorted(kinds.items())}
        # per style: the full kind, e.g. "wire:Earnings" (wire/aggregator notation) or "other:stock list"
        out["style_counts"] = dict(sorted(Counter(allrows["kind"]).items()))
    if history:
        out["iterations"] = history
        out["totals"] = dict(
            generated=sum(h["generated"] for h in history), malformed=sum(h["malformed"] for h in history),
            malformed_by_reason=dict(sum((Counter(h["malformed_by_reason"]) for h in history), Counter())),
            exact_duplicates=sum(h["exact_duplicates"] for h in history),
            near_duplicates=sum(h["near_duplicates"] for h in history),
            trimmed=sum(h.get("trimmed", 0) for h in history), kept=sum(h["kept"] for h in history))
    if probe and "train" in splits and "test" in splits:
        out["difficulty_probe"] = bow_probe(splits["train"], splits["test"])
    if extra:
        out.update(extra)
    return out


def stats_table(stats: dict) -> str:
    """Plain-text per-iteration table (what the CLI prints)."""
    lines = []
    if stats.get("iterations"):
        lines.append(f"{'iter':>4} {'generated':>9} {'malformed':>9} {'exact':>6} {'near':>6} {'near%':>6} {'kept':>6} {'corpus':>7}")
        for h in stats["iterations"]:
            lines.append(f"{h['iteration']:>4} {h['generated']:>9} {h['malformed']:>9} {h['exact_duplicates']:>6} "
                         f"{h['near_duplicates']:>6} {h['near_duplicate_rate']:>6.1%} {h['kept']:>6} {h['corpus']:>7}")
    lines.append("sizes: " + ", ".join(f"{k} {v}" for k, v in stats["sizes"].items()))
    lines.append(f"distinct-2 {stats['distinct_2']}, distinct-3 {stats['distinct_3']}, min label share "
                 f"{stats['min_label_share']:.2%}")
    if "difficulty_probe" in stats:
        p = stats["difficulty_probe"]
        lines.append(f"BoW probe: macro-F1 {p['macro_f1']}, accuracy {p['accuracy']}, coarse macro-F1 {p['coarse_macro_f1']}")
    return "\n".join(lines)


def plot_stats(stats: dict, path: str | Path) -> Path:
    """PNG: per-iteration outcome bars (kept / near-dup / exact / malformed) and the class histogram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from taskdistill.cache import atomic_write_bytes

    fig, axes = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw=dict(width_ratios=[1, 1.4]))
    hist = stats.get("iterations") or []
    ax = axes[0]
    if hist:
        it = [h["iteration"] for h in hist]
        parts = [("kept", "kept", "tab:green"), ("near_duplicates", "near-duplicate", "tab:orange"),
                 ("exact_duplicates", "exact duplicate", "tab:red"), ("malformed", "malformed", "tab:gray")]
        bottom = np.zeros(len(it))
        for key, name, color in parts:
            vals = np.array([h[key] for h in hist], dtype=float)
            ax.bar(it, vals, bottom=bottom, label=name, color=color)
            bottom += vals
        ax.set_xticks(it if len(it) <= 30 else it[:: max(1, len(it) // 15)])
        ax.set_xlabel("iteration")
        ax.set_ylabel("headlines")
        ax.set_title("generation outcome per iteration")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no pipeline history (external data)", ha="center")
        ax.set_axis_off()
    ax = axes[1]
    share = stats["label_share"]
    ax.bar(range(len(LABELS)), [share[lab] * 100 for lab in LABELS], color="tab:blue")
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=90, fontsize=7)
    ax.set_ylabel("% of rows")
    ax.set_title(f"class distribution (n={stats['total']})")
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
