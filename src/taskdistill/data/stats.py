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

from taskdistill.task import Task


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct-n: unique word n-grams / total n-grams (lower-cased), a standard diversity ratio."""
    total, seen = 0, set()
    for t in texts:
        w = t.lower().split()
        grams = [tuple(w[i:i + n]) for i in range(len(w) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return round(len(seen) / total, 4) if total else 0.0


def bow_probe(train: pd.DataFrame, test: pd.DataFrame, task: Task, seed: int = 0) -> dict:
    """Macro-F1 / accuracy of a uni+bigram logistic regression (train -> test), at label level and,
    when the task has groups, at group level (``coarse_macro_f1``)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    vec = CountVectorizer(ngram_range=(1, 2), min_df=2, lowercase=True)
    text = task.input_field
    xtr = vec.fit_transform(train[text])
    clf = LogisticRegression(max_iter=2000, C=2.0, random_state=seed)
    clf.fit(xtr, train["label"])
    pred = clf.predict(vec.transform(test[text]))
    out = dict(model="CountVectorizer(1-2gram, min_df=2) + LogisticRegression(C=2)",
               macro_f1=round(float(f1_score(test["label"], pred, average="macro")), 4),
               accuracy=round(float(accuracy_score(test["label"], pred)), 4))
    if task.has_groups:
        pc = [task.group(p) for p in pred]
        out["coarse_macro_f1"] = round(float(f1_score(test["category"], pc, average="macro")), 4)
    if "kind" in test:  # where the difficulty lives: accuracy per headline kind
        ok = pd.Series(np.asarray(pred) == test["label"].to_numpy(), index=test.index)
        kinds = test["kind"].str.split(":").str[0]
        out["accuracy_by_kind"] = {k: round(float(ok[kinds == k].mean()), 4) for k in sorted(set(kinds))}
    return out


def dataset_stats(splits: dict[str, pd.DataFrame], task: Task, history: list[dict] | None = None,
                  extra: dict | None = None, probe: bool = True) -> dict:
    """Sizes, label (and group) shares, distinct-n, mean words, the pipeline table and the probe.

    The probe is skipped (``difficulty_probe: null`` with a reason) when train is too small for a
    vocabulary or holds a single class."""
    labels = task.label_names
    allrows = pd.concat(splits.values(), ignore_index=True)
    out: dict = dict(sizes={k: len(v) for k, v in splits.items()}, total=len(allrows))
    counts = allrows["label"].value_counts()
    out["label_share"] = {lab: round(float(counts.get(lab, 0)) / len(allrows), 4) for lab in labels}
    out["min_label_share"] = min(out["label_share"].values())
    out["labels_per_split"] = {k: {lab: int(v["label"].value_counts().get(lab, 0)) for lab in labels}
                               for k, v in splits.items()}
    if task.has_groups:
        out["category_share"] = {c: round(float((allrows["category"] == c).mean()), 4) for c in task.group_names}
    texts = allrows[task.input_field].tolist()
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
        try:
            out["difficulty_probe"] = bow_probe(splits["train"], splits["test"], task)
        except ValueError as exc:  # e.g. an empty vocabulary or one class in train
            out["difficulty_probe"] = None
            out["difficulty_probe_skipped"] = str(exc).splitlines()[0]
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
    p = stats.get("difficulty_probe")
    if p:
        coarse = f", coarse macro-F1 {p['coarse_macro_f1']}" if "coarse_macro_f1" in p else ""
        lines.append(f"BoW probe: macro-F1 {p['macro_f1']}, accuracy {p['accuracy']}{coarse}")
    elif "difficulty_probe_skipped" in stats:
        lines.append(f"BoW probe skipped: {stats['difficulty_probe_skipped']}")
    return "\n".join(lines)


def plot_stats(stats: dict, path: str | Path, task: Task) -> Path:
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
    share, labels = stats["label_share"], task.label_names
    ax.bar(range(len(labels)), [share.get(lab, 0.0) * 100 for lab in labels], color="tab:blue")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_ylabel("% of rows")
    ax.set_title(f"class distribution (n={stats['total']})")
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
