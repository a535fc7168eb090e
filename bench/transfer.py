"""How well does a model trained only on synthetic FinHeadlineMix transfer to real headlines?

Scores on a coarse-labelled CSV of real headlines (columns ``headline,label``; labels are the 13
categories of ``finheadlines-coarse``, aliases such as "Management changes" are mapped by the task):
coarse accuracy, macro-F1, per-category recall and the largest confusions.

Two models:

- ``probe`` (default, seconds): a bag-of-words uni+bigram logistic regression (the same probe as
  ``data/stats.py``) trained on the synthetic train split; its 35 fine predictions are mapped to
  their category.
- ``--teacher SPEC``: a prepared checkpoint (e.g. the folder printed by ``taskdistill teacher
  prepare``); its 35 label probabilities are summed per category and the arg-max category is the
  prediction.

Training data: ``--data DIR`` (a folder with ``train.parquet``/``test.parquet`` as written by
``taskdistill data generate``), or ``--fast N``: N headlines per class drawn straight from the
template grammar (no dedup; for quick iteration on the grammar only).

    python bench/transfer.py --fast 150 --dev ../shared/data/real-headlines-dev.csv
    python bench/transfer.py --data DIR --dev ../shared/data/real-headlines-dev.csv
    python bench/transfer.py --data DIR --teacher CKPT --dev ../shared/data/real-headlines-dev.csv
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd


def read_real(path: str | Path, coarse) -> pd.DataFrame:
    df = pd.read_csv(path)
    for col in ("headline", "label"):
        if col not in df.columns:
            sys.exit(f"{path}: missing column {col!r}")
    out = []
    for i, v in enumerate(df["label"], start=2):
        lab = coarse.canonical(str(v))
        if lab is None:
            sys.exit(f"{path}: row {i}, field label: unknown category {v!r}")
        out.append(lab)
    return pd.DataFrame({"headline": df["headline"].astype(str), "label": out})


def fast_corpus(n_per_class: int, seed: int = 0, overrides: dict | None = None) -> pd.DataFrame:
    from taskdistill.data.synth.templates import SIMPLE, Difficulty, generate

    rng = random.Random(seed)
    d = Difficulty(**(overrides or {}))
    rows = [generate(rng, lab, d) for lab in SIMPLE for _ in range(n_per_class)]
    return pd.DataFrame({"headline": [s.headline for s in rows], "label": [s.label for s in rows],
                         "kind": [s.kind for s in rows]})


def report(name: str, gold: list[str], pred: list[str], groups: tuple[str, ...], top: int = 12) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    acc = accuracy_score(gold, pred)
    f1 = f1_score(gold, pred, labels=list(groups), average="macro", zero_division=0)
    rec = recall_score(gold, pred, labels=list(groups), average=None, zero_division=0)
    print(f"\n== {name}: coarse accuracy {acc:.3f}, coarse macro-F1 {f1:.3f} (n={len(gold)})")
    print("per-category recall: " + ", ".join(f"{g} {r:.2f}" for g, r in zip(groups, rec, strict=True)))
    share = Counter(pred)
    print("predicted shares: " + ", ".join(f"{g} {share[g] / len(pred):.2f}" for g in groups if share[g]))
    conf = Counter((g, p) for g, p in zip(gold, pred, strict=True) if g != p)
    print("largest confusions (true -> predicted: count): "
          + "; ".join(f"{g} -> {p}: {n}" for (g, p), n in conf.most_common(top)))
    return dict(accuracy=round(float(acc), 4), macro_f1=round(float(f1), 4),
                recall={g: round(float(r), 3) for g, r in zip(groups, rec, strict=True)})


def probe(train: pd.DataFrame, texts: list[str], seed: int = 0) -> np.ndarray:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = CountVectorizer(ngram_range=(1, 2), min_df=2, lowercase=True)
    clf = LogisticRegression(max_iter=2000, C=2.0, random_state=seed)
    clf.fit(vec.fit_transform(train["headline"]), train["label"])
    return clf.predict(vec.transform(texts))


def teacher_coarse(spec: str, texts: list[str], fine, threads: int) -> tuple[list[str], list[str]]:
    """(arg-max category of the summed fine label probabilities, arg-max fine label) of a checkpoint, with
    the product's own scoring and fine-to-category map (``taskdistill eval --task finheadlines-coarse``)."""
    import torch

    from taskdistill.evaluate.indomain import score_labels, transfer_matrix
    from taskdistill.models import load_model
    from taskdistill.task import load_task

    torch.set_num_threads(threads)
    coarse = load_task("finheadlines-coarse")
    model, tok = load_model(spec)
    probs = score_labels(model, tok, fine, texts)
    summed = probs @ transfer_matrix(coarse, fine)
    return [coarse.label_names[k] for k in summed.argmax(1)], [fine.label_names[k] for k in probs.argmax(1)]


def main() -> None:
    from taskdistill.task import load_task

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dev", default=str(Path(__file__).resolve().parents[2] / "shared/data/real-headlines-dev.csv"))
    ap.add_argument("--data", help="dataset folder with train.parquet/test.parquet")
    ap.add_argument("--fast", type=int, default=0, help="headlines per class straight from the grammar")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="--fast only: override a Difficulty share, e.g. --set wire=0 (ablation)")
    ap.add_argument("--teacher", help="checkpoint to score (summed fine probabilities per category)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="teacher: score about N synthetic test rows (the same number per class)")
    ap.add_argument("--show", type=int, default=0, help="print N synthetic headlines per kind (grammar check)")
    a = ap.parse_args()

    fine, coarse = load_task("finheadlines"), load_task("finheadlines-coarse")
    dev = read_real(a.dev, coarse)
    groups = fine.group_names
    if a.data:
        train = pd.read_parquet(Path(a.data) / "train.parquet")
        test = pd.read_parquet(Path(a.data) / "test.parquet")
    elif a.fast:
        ov = {k: float(v) for k, v in (x.split("=", 1) for x in a.set)}
        train = fast_corpus(a.fast, a.seed, ov)
        test = fast_corpus(20, a.seed + 1, ov)
    else:
        sys.exit("give --data DIR or --fast N")
    if a.show:
        for k, g in train.groupby(train["kind"].str.split(":").str[0]):
            print(k, "|", " || ".join(g["headline"].sample(min(a.show, len(g)), random_state=0)))
    print(f"synthetic train {len(train)} rows, test {len(test)} rows; dev {len(dev)} rows ({a.dev})")

    from sklearn.metrics import f1_score

    pt = probe(train, test["headline"].tolist(), a.seed)
    print(f"BoW probe on synthetic test: fine macro-F1 {f1_score(test['label'], pt, average='macro'):.3f}, "
          f"coarse macro-F1 {f1_score([fine.group(x) for x in test['label']], [fine.group(x) for x in pt], average='macro'):.3f}")
    pd_ = probe(train, dev["headline"].tolist(), a.seed)
    report("BoW probe on real dev", dev["label"].tolist(), [fine.group(x) for x in pd_], groups)

    if a.teacher:
        t = test if not a.limit else test.groupby("label", sort=False).head(max(1, a.limit // test["label"].nunique()))
        tp, tf = teacher_coarse(a.teacher, t["headline"].tolist(), fine, a.threads)
        tg = [fine.group(x) for x in t["label"]]
        print(f"teacher on synthetic test: fine macro-F1 {f1_score(t['label'], tf, average='macro'):.3f}, "
              f"coarse macro-F1 {f1_score(tg, tp, average='macro'):.3f} (n={len(t)})")
        report("teacher on real dev", dev["label"].tolist(),
               teacher_coarse(a.teacher, dev["headline"].tolist(), fine, a.threads)[0], groups)


if __name__ == "__main__":
    main()
