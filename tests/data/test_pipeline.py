"""Pipeline steps (few-shot, reweighting, label sampling), splits, and kill/resume determinism with
the real MiniLM encoder on a small corpus."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from taskdistill.cache import file_hash
from taskdistill.data.splits import SplitError, make_splits, max_cross_similarity
from taskdistill.data.synth.pipeline import (
    SynthConfig,
    fewshot_step,
    generate_dataset,
    load_corpus,
    reweight_step,
    run_pipeline,
    sample_labels,
)
from taskdistill.task import load_task

FIN = load_task("finheadlines")
LABELS = FIN.label_names


@pytest.fixture(scope="module")
def embedder():
    from taskdistill.data.synth.embed import shared_embedder

    return shared_embedder()


def test_sample_labels_follows_weights_exactly():
    import random

    w = np.zeros(len(LABELS))
    w[0], w[5] = 3, 1
    labs = sample_labels(random.Random(0), w / w.sum(), 100, LABELS)
    assert labs.count(LABELS[0]) == 75 and labs.count(LABELS[5]) == 25 and len(labs) == 100


def test_fewshot_picks_farthest_from_category_centroid():
    # 4 "rating upgrade" rows: three near e0, one off-axis -> the off-axis one is farthest
    e = np.eye(4, dtype=np.float32)
    emb = np.stack([e[0], e[0] * 0.99 + e[1] * 0.14, e[0] * 0.98 + e[2] * 0.2, e[3]])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = np.array(["rating upgrade"] * 3 + ["rating downgrade"])
    text = ["a", "b", "c", "d"]
    fs = fewshot_step(labels, emb, text, new_mask=np.ones(4, bool), k=2, task=FIN)
    # cosine to the centroid: a 0.945, b 0.942, c 0.938, d 0.318 -> d, then c
    assert fs["Analyst Rating"] == ["d", "c"]
    assert fewshot_step(labels, emb, text, new_mask=np.ones(4, bool), k=4, task=FIN)["Analyst Rating"] == list("dcba")
    assert fs["Earnings"] == []
    # rows of the current iteration come first, even if older rows are farther
    fs2 = fewshot_step(labels, emb, text, new_mask=np.array([True, True, False, False]), k=2, task=FIN)
    assert set(fs2["Analyst Rating"]) == {"a", "b"}


def test_reweighting_pushes_toward_target():
    target = np.full(len(LABELS), 1 / len(LABELS))
    counts = np.full(len(LABELS), 100.0)
    counts[3] = 0  # one class missing
    gen = np.full(len(LABELS), 120.0)
    kept = counts.copy()
    w = reweight_step(counts, gen, kept, target, horizon=1000)
    assert w.argmax() == 3 and w[3] > 0.3 and abs(w.sum() - 1) < 1e-9
    assert (w > 0).all()  # nobody starves
    # a class that loses half its generations to dedup is asked for more than one that keeps all
    counts = np.zeros(len(LABELS))
    gen, kept = np.full(len(LABELS), 100.0), np.full(len(LABELS), 100.0)
    kept[7] = 50
    w = reweight_step(counts, gen, kept, target, horizon=1000)
    assert w[7] > 1.5 * w[8]
    # exactly on target with nothing to add -> the target itself
    assert np.allclose(reweight_step(np.full(len(LABELS), 1e6), gen, kept, target, 0), target)  # no deficit


def test_splits_stratified_deterministic_leak_free():
    rng = np.random.default_rng(0)
    rows = [dict(id=f"r{i}", headline=f"h{i}", label=LABELS[i % len(LABELS)], category="x", rationale="")
            for i in range(35 * 8)]
    df = pd.DataFrame(rows)
    emb = rng.normal(size=(len(df), 32)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    emb[5] = emb[40]  # r5 (a train candidate?) duplicates r40: whichever is held out, the train copy goes
    s1, info = make_splits(df, emb, FIN, test_per_class=2, val_per_class=1, seed=3)
    s2, _ = make_splits(df.sample(frac=1, random_state=1), emb[df.sample(frac=1, random_state=1).index], FIN, 2, 1, seed=3)
    assert all(s1[k]["id"].tolist() == s2[k]["id"].tolist() for k in s1)
    assert (s1["test"]["label"].value_counts() == 2).all() and len(s1["test"]) == 70
    assert (s1["validation"]["label"].value_counts() == 1).all()
    pos = {r: i for i, r in enumerate(df["id"])}
    held = np.concatenate([s1["test"]["id"].map(pos), s1["validation"]["id"].map(pos)])
    tr = s1["train"]["id"].map(pos).to_numpy()
    assert max_cross_similarity(emb[tr], emb[held]) < 0.9
    assert info["sizes"]["train"] + info["sizes"]["test"] + info["sizes"]["validation"] + \
        info["leak_removed_from_train"] == len(df)
    with pytest.raises(SplitError, match=r"35 have fewer than 10 rows .* test_per_class \+ val_per_class must be "
                                         r"at most 7"):
        make_splits(df, None, FIN, test_per_class=8, val_per_class=1)


def _small_cfg(**kw):
    base = dict(size=110, batch_size=60, seed=5, test_per_class=1, val_per_class=1, target_weights={"other": 2.0})
    base.update(kw)
    return SynthConfig(**base)


def test_kill_and_resume_gives_identical_files(tmp_path, embedder):
    cfg = _small_cfg()
    full = generate_dataset(tmp_path / "full", cfg, FIN, quiet=True, embedder=embedder)
    # "kill" after one iteration, then rerun over the same folder
    run_pipeline(tmp_path / "killed", cfg, FIN, quiet=True, embedder=embedder, stop_after=1)
    rows1, _, hist1 = load_corpus(tmp_path / "killed", FIN)
    assert len(hist1) == 1 and 0 < len(rows1) < cfg.size
    # a half-written iteration folder (crash inside atomic_dir) is ignored on resume
    (tmp_path / "killed" / ".state" / ".iter-00002.x.tmp").mkdir()
    resumed = generate_dataset(tmp_path / "killed", cfg, FIN, quiet=True, embedder=embedder)
    for f in ("train.parquet", "validation.parquet", "test.parquet", "stats.json", "stats.png", "task.yaml"):
        assert file_hash(full / f) == file_hash(resumed / f), f
    stats = json.loads((full / "stats.json").read_text())
    assert stats["total"] == cfg.size and stats["sizes"]["test"] == 35
    its = stats["iterations"]
    assert len(its) >= 2 and all(h["generated"] == h["malformed"] + h["exact_duplicates"] + h["near_duplicates"]
                                 + h["trimmed"] + h["kept"] for h in its)
    assert 0 <= its[0]["near_duplicate_rate"] <= 1 and stats["distinct_2"] > 0.3
    assert "difficulty_probe" in stats and 0 <= stats["difficulty_probe"]["macro_f1"] <= 1
    rows, emb, _ = load_corpus(full, FIN)
    assert len(rows) == len(emb) == cfg.size
    sims = emb @ emb.T
    np.fill_diagonal(sims, -1)
    assert sims.max() < cfg.threshold  # the corpus is globally deduped
    # rerunning a finished folder is a no-op; other generation settings are refused
    again = generate_dataset(tmp_path / "full", cfg, FIN, quiet=True, embedder=embedder)
    assert file_hash(again / "train.parquet") == file_hash(full / "train.parquet")
    with pytest.raises(ValueError, match="different generation settings \\(seed\\)"):
        run_pipeline(tmp_path / "full", _small_cfg(seed=6), FIN, quiet=True, embedder=embedder)


def test_near_duplicates_are_counted_and_dropped(tmp_path, embedder):
    # one class only, so headlines share most words and a low (0.55) threshold bites
    only = {lab: (1.0 if lab == "rating upgrade" else 0.0) for lab in LABELS}
    cfg = _small_cfg(threshold=0.55, size=40, batch_size=40, target_weights=only)
    rows = run_pipeline(tmp_path / "lo", cfg, FIN, quiet=True, embedder=embedder)
    _, emb, hist = load_corpus(tmp_path / "lo", FIN)
    assert len(rows) == 40 and set(rows["label"]) == {"rating upgrade"}
    assert sum(h["near_duplicates"] for h in hist) > 0 and len(hist) >= 2
    sims = emb @ emb.T
    np.fill_diagonal(sims, -1)
    assert sims.max() < 0.55


def test_config_validation():
    with pytest.raises(ValueError, match="unknown labels in target_weights: \\['bullish'\\] \\(not labels of task "
                                         "'finheadlines'\\)"):
        SynthConfig(target_weights={"bullish": 1.0}).target(FIN)
    with pytest.raises(ValueError):
        SynthConfig(threshold=0)
    w = SynthConfig(target_weights={"other": 3.0}).target(FIN)
    assert w[LABELS.index("other")] == pytest.approx(3 / 37) and w.min() > 0.02
