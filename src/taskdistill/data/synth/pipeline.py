"""The iterative synthetic-data loop (FinHeadlineMix recipe), one function per step.

    generate -> filter (counted by reason) -> exact/normalised dedup -> global semantic dedup
    -> farthest-from-centroid few-shot -> reweight toward the target class distribution
    -> checkpoint (atomic) -> next iteration

Why iterate: a one-shot batch loses most of itself to near-duplicates (the paper lost ~65% of 50k);
feeding back the *most atypical* accepted headlines as few-shot examples and steering generation
toward under-filled classes keeps each new batch useful. Determinism: iteration ``i`` draws from
``Random(content_hash(seed, i))``, and everything it depends on (corpus, embeddings, few-shot sets,
weights, index centroids) is restored from the checkpoint, so a run killed at any point and rerun
over the same folder ends with byte-identical files.

Checkpoint layout (``<out>/.state/``): ``config.json`` and one folder per finished iteration,
``iter-00007/{rows.parquet, emb.npy, state.json[, centroids.npy]}``, each written with
``atomic_dir`` — a folder that exists is complete. The corpus is append-only, so a checkpoint costs
only the new rows, not the whole corpus.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from taskdistill.cache import atomic_dir, atomic_write_text, content_hash
from taskdistill.config import ConfigError, StrictModel
from taskdistill.data.synth.dedup import ExactDeduper, SemanticIndex
from taskdistill.data.synth.filters import REASONS, filter_batch
from taskdistill.data.synth.templates import Difficulty, Sample
from taskdistill.task import Task

# Bump when a change to the loop, dedup, filters or splits changes what a given config produces
# (the default dataset's cache folder is keyed on it).
PIPELINE_VERSION = 1


class SynthConfig(StrictModel):
    backend: Literal["template", "hf", "openai"] = "template"
    size: int = Field(20000, gt=0, description="kept headlines to reach (the corpus before splitting)")
    seed: int = 0
    batch_size: int = Field(2000, gt=0, description="headlines generated per iteration")
    max_iterations: int = Field(200, gt=0)
    threshold: float = Field(0.9, gt=0, le=1, description="drop when cosine >= threshold")
    dedup_mode: Literal["exact", "clustered"] = "exact"
    n_clusters: int = 256
    n_probe: int = 4
    difficulty: Difficulty = Difficulty()
    target_weights: dict[str, float] = Field(default_factory=dict, description="label -> relative weight (default 1)")
    fewshot_k: int = 6
    min_words: int = 3
    max_words: int = 40
    hf_model: str = "tiny:llama"
    hf_batch_size: int = 16
    hf_max_new_tokens: int = 40
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_timeout: float = 60.0
    openai_retries: int = 3
    test_per_class: int = Field(20, ge=1)
    val_per_class: int = Field(10, ge=1)

    @field_validator("target_weights")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("target_weights must be >= 0")
        return v

    def check_task(self, task: Task) -> None:
        """Settings that only make sense for some tasks: every ``target_weights`` key is a label."""
        bad = [k for k in self.target_weights if k not in task.label_names]
        if bad:
            raise ConfigError(f"unknown labels in target_weights: {bad} (not labels of task {task.name!r})")
        w = np.array([self.target_weights.get(lab, 1.0) for lab in task.label_names], dtype=np.float64)
        if w.sum() <= 0:
            raise ConfigError("target_weights: the weights sum to zero")

    def check_split_sizes(self, task: Task) -> None:
        """``size`` gives every label enough rows for its test + validation + 1 train row (checked before
        any generation, so a too-small ``--size`` stops at once and says which sizes work)."""
        self.check_task(task)
        w = np.array([self.target_weights.get(lab, 1.0) for lab in task.label_names], dtype=np.float64)
        need = self.test_per_class + self.val_per_class + 1
        share = w.min() / w.sum()
        if share <= 0:
            raise ConfigError("target_weights: every label needs a weight > 0 to fill its test and validation "
                              "rows")
        if self.size * share < need:
            fit = int(self.size * share) - 1
            fix = (f", or lower --test-per-class + --val-per-class to at most {fit}" if fit >= 2 else "")
            raise ConfigError(
                f"--size {self.size}: too small for {task.n_classes} labels with test_per_class "
                f"{self.test_per_class} + val_per_class {self.val_per_class} + 1 train row per label "
                f"({need} rows each, about {self.size * share:.0f} generated per label); use --size "
                f">= {math.ceil(need / share)}{fix}")

    def target(self, task: Task) -> np.ndarray:
        """The target label distribution, in ``task.label_names`` order."""
        self.check_task(task)
        w = np.array([self.target_weights.get(lab, 1.0) for lab in task.label_names], dtype=np.float64)
        if w.sum() <= 0:
            raise ValueError("target_weights sum to zero")
        return w / w.sum()

    def generation_key(self) -> dict:
        """Settings that change the corpus (a resume with other values would mix two datasets)."""
        d = self.model_dump(mode="json")
        for k in ("max_iterations", "size", "test_per_class", "val_per_class"):
            d.pop(k)
        return d


# ------------------------------------------------------------------------------------- steps


def make_backend(cfg: SynthConfig, task: Task):
    from taskdistill.data.synth import backends as B

    if cfg.backend == "template":
        return B.TemplateBackend(cfg.difficulty, task)
    if cfg.backend == "hf":
        return B.HFBackend(cfg.hf_model, task, batch_size=cfg.hf_batch_size, max_new_tokens=cfg.hf_max_new_tokens)
    from taskdistill.data.synth.openai_client import ChatClient

    client = ChatClient.from_env(base_url=cfg.openai_base_url, model=cfg.openai_model, timeout=cfg.openai_timeout,
                                 max_retries=cfg.openai_retries, api_key_env="OPENAI_API_KEY")
    return B.OpenAIBackend(client, task)


def sample_labels(rng: random.Random, weights: np.ndarray, n: int, labels: tuple[str, ...]) -> list[str]:
    """``n`` of ``labels`` drawn by ``weights`` (aligned with ``labels``), largest-remainder rounded
    (no sampling noise in the mix)."""
    exact = weights * n
    counts = np.floor(exact).astype(int)
    rest = n - counts.sum()
    order = sorted(range(len(labels)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:rest]:
        counts[i] += 1
    out = [lab for lab, c in zip(labels, counts, strict=True) for _ in range(c)]
    rng.shuffle(out)
    return out


def filter_step(samples: list[Sample], fewshot: dict[str, list[str]], cfg: SynthConfig,
                task: Task) -> tuple[list[Sample], Counter]:
    echo = tuple(e for ex in fewshot.values() for e in ex)
    keep, counts = filter_batch([s.headline for s in samples], task, echo, cfg.min_words, cfg.max_words)
    return [s for s, k in zip(samples, keep, strict=True) if k], counts


def exact_step(samples: list[Sample], seen: ExactDeduper) -> tuple[list[Sample], int]:
    """Drop headlines whose normalised key is in the corpus or earlier in this batch."""
    from taskdistill.data.synth.dedup import normalize

    local: set[str] = set()
    out = []
    for s in samples:
        k = normalize(s.headline)
        if k in seen.keys or k in local:
            continue
        local.add(k)
        out.append(s)
    return out, len(samples) - len(out)


def fewshot_groups(task: Task) -> tuple[str, ...]:
    """The keys of the few-shot sets: the task's groups, or its labels when it has none."""
    return task.group_names if task.has_groups else task.label_names


def fewshot_step(corpus_labels: np.ndarray, corpus_emb: np.ndarray, corpus_text: list[str], new_mask: np.ndarray,
                 k: int, task: Task) -> dict[str, list[str]]:
    """Per group (``fewshot_groups``): the ``k`` accepted texts of this iteration farthest (lowest
    cosine) from the group's centroid over the whole corpus; topped up from older rows if the
    iteration has too few."""
    cats = np.array([task.group(lab) for lab in corpus_labels]) if len(corpus_labels) else np.array([])
    out: dict[str, list[str]] = {}
    for cat in fewshot_groups(task):
        idx = np.nonzero(cats == cat)[0]
        if not len(idx):
            out[cat] = []
            continue
        cent = corpus_emb[idx].mean(axis=0)
        cent /= np.linalg.norm(cent) or 1.0
        sims = corpus_emb[idx] @ cent
        fresh = new_mask[idx]
        order = sorted(range(len(idx)), key=lambda j: (not fresh[j], sims[j], idx[j]))
        out[cat] = [corpus_text[idx[j]] for j in order[:k]]
    return out


def reweight_step(counts: np.ndarray, generated: np.ndarray, kept: np.ndarray, target: np.ndarray,
                  horizon: int) -> np.ndarray:
    """Next iteration's label weights: each class's deficit against the target distribution at the
    next corpus size, divided by its smoothed keep rate (classes that lose more to dedup are asked
    for more). Falls back to the target when no class is short."""
    total = counts.sum() + horizon
    deficit = np.maximum(target * total - counts, 0.0)
    keep_rate = (kept + 1.0) / (generated + 2.0)
    w = deficit / keep_rate
    if w.sum() <= 0:
        return target.copy()
    w = w / w.sum()
    return 0.9 * w + 0.1 * target  # never starve a class completely


# ------------------------------------------------------------------------------------- state


class _State:
    def __init__(self, cfg: SynthConfig, task: Task):
        self.cfg, self.task = cfg, task
        self.rows: list[pd.DataFrame] = []
        self.emb: list[np.ndarray] = []
        self.index = SemanticIndex(threshold=cfg.threshold, mode=cfg.dedup_mode, n_clusters=cfg.n_clusters,
                                   n_probe=cfg.n_probe, seed=cfg.seed)
        self.exact = ExactDeduper()
        self.iteration = 0
        self.weights = cfg.target(task)
        self.fewshot: dict[str, list[str]] = {c: [] for c in fewshot_groups(task)}
        self.generated = np.zeros(task.n_classes)
        self.kept = np.zeros(task.n_classes)
        self.history: list[dict] = []

    @property
    def n(self) -> int:
        return sum(len(r) for r in self.rows)

    def counts(self) -> np.ndarray:
        c = np.zeros(self.task.n_classes)
        for r in self.rows:
            for lab, v in r["label"].value_counts().items():
                c[self.task.index(lab)] += v
        return c


def _state_dir(out: Path) -> Path:
    return out / ".state"


def _save_iteration(sd: Path, st: _State, rows: pd.DataFrame, emb: np.ndarray, trained_now: bool) -> None:
    with atomic_dir(sd / f"iter-{st.iteration:05d}") as tmp:
        rows.to_parquet(tmp / "rows.parquet", index=False)
        np.save(tmp / "emb.npy", emb)
        if trained_now:
            np.save(tmp / "centroids.npy", st.index.centroids)
        (tmp / "state.json").write_text(json.dumps(dict(
            iteration=st.iteration, weights=st.weights.tolist(), fewshot=st.fewshot, generated=st.generated.tolist(),
            kept=st.kept.tolist(), stats=st.history[-1]), indent=1, sort_keys=True))


def _load(sd: Path, st: _State) -> None:
    iters = sorted(p for p in sd.glob("iter-*") if p.is_dir())
    vecs, centroids = [], None
    for p in iters:
        st.rows.append(pd.read_parquet(p / "rows.parquet"))
        vecs.append(np.load(p / "emb.npy"))
        if (p / "centroids.npy").exists():
            centroids = np.load(p / "centroids.npy")
        s = json.loads((p / "state.json").read_text())
        st.iteration = s["iteration"]
        st.weights = np.array(s["weights"])
        st.fewshot = s["fewshot"]
        st.generated, st.kept = np.array(s["generated"]), np.array(s["kept"])
        st.history.append(s["stats"])
    st.emb = vecs
    if vecs:
        allv = np.concatenate(vecs)
        if centroids is not None:  # rebuild the clustered index exactly as it was
            st.index.load_state(allv, centroids)
        else:
            st.index.load_state(allv, None)
        for r in st.rows:
            for h in r[st.task.input_field]:
                st.exact.add(h)


def run_iteration(st: _State, backend, embedder) -> None:
    """One generate -> filter -> dedup -> few-shot -> reweight round (checkpointing is the caller's)."""
    cfg, task = st.cfg, st.task
    t0 = time.perf_counter()
    it = st.iteration + 1
    rng = random.Random(content_hash("synth", cfg.seed, it))
    room = cfg.size - st.n
    rate = float(st.kept.sum() + 1) / float(st.generated.sum() + 1)  # keep rate so far (1.0 at start)
    n_gen = min(cfg.batch_size, max(64, int(np.ceil(room / max(rate, 0.05) * 1.1))))
    labels = sample_labels(rng, st.weights, n_gen, task.label_names)
    samples = backend.generate(labels, st.fewshot, rng)
    for s in samples:
        st.generated[task.index(s.label)] += 1
    ok, reasons = filter_step(samples, st.fewshot, cfg, task)
    uniq, n_exact = exact_step(ok, st.exact)
    emb = embedder.encode([s.headline for s in uniq])
    trained_before = st.index.trained
    keep = st.index.add_batch(emb) if len(uniq) else np.zeros(0, bool)
    n_near = int((~keep).sum())
    kept_idx = np.nonzero(keep)[0]
    n_trimmed = max(0, len(kept_idx) - room)
    if len(kept_idx) > room:  # last iteration overshoots: keep the rows the target needs most
        chosen = _pick_for_target([uniq[i].label for i in kept_idx], st.counts(), cfg.target(task), room, task)
        _trim_index(st, len(kept_idx), chosen)
        kept_idx = kept_idx[chosen]
    kept = [uniq[i] for i in kept_idx]
    kept_emb = emb[kept_idx]
    for s in kept:
        st.exact.add(s.headline)
        st.kept[task.index(s.label)] += 1
    rows = pd.DataFrame(dict(
        id=[f"s{cfg.seed}-i{it:04d}-{j:05d}" for j in range(len(kept))],
        **{task.input_field: [s.headline for s in kept]}, label=[s.label for s in kept],
        category=[task.group(s.label) for s in kept], rationale=[s.rationale for s in kept],
        kind=[s.kind for s in kept], iteration=np.full(len(kept), it, dtype=np.int32)))
    st.rows.append(rows)
    st.emb.append(kept_emb)
    st.iteration = it
    # few-shot over the whole corpus, favouring this iteration's accepted rows
    all_rows = pd.concat(st.rows, ignore_index=True)
    all_emb = np.concatenate(st.emb) if st.emb else np.zeros((0, 384), np.float32)
    new_mask = (all_rows["iteration"].to_numpy() == it)
    st.fewshot = fewshot_step(all_rows["label"].to_numpy(), all_emb, all_rows[task.input_field].tolist(), new_mask,
                              cfg.fewshot_k, task)
    counts = st.counts()
    st.weights = reweight_step(counts, st.generated, st.kept, cfg.target(task), cfg.batch_size)
    considered = len(uniq)
    st.history.append(dict(
        iteration=it, generated=len(samples), malformed=sum(reasons.values()),
        malformed_by_reason={r: int(reasons.get(r, 0)) for r in REASONS}, exact_duplicates=n_exact,
        near_duplicates=n_near, trimmed=n_trimmed, kept=len(kept), corpus=st.n,
        near_duplicate_rate=round(n_near / considered, 4) if considered else 0.0,
        kept_by_label={lab: int(v) for lab, v in Counter(s.label for s in kept).items()},
        seconds=round(time.perf_counter() - t0, 2)))
    st._trained_now = st.index.trained and not trained_before


def _pick_for_target(labels: list[str], counts: np.ndarray, target: np.ndarray, room: int, task: Task) -> np.ndarray:
    """Positions (sorted) of ``room`` of ``labels`` chosen greedily for the most under-filled class,
    first occurrence first: the final, trimmed iteration still lands near the target distribution."""
    counts = counts.astype(float).copy()
    by_label: dict[int, list[int]] = {}
    for j, lab in enumerate(labels):
        by_label.setdefault(task.index(lab), []).append(j)
    ptr = dict.fromkeys(by_label, 0)
    chosen = []
    for _ in range(room):
        avail = [c for c in by_label if ptr[c] < len(by_label[c])]
        c = min(avail, key=lambda c: ((counts[c] + 1) / target[c], c))
        chosen.append(by_label[c][ptr[c]])
        ptr[c] += 1
        counts[c] += 1
    return np.array(sorted(chosen), dtype=int)


def _trim_index(st: _State, n_added: int, chosen: np.ndarray) -> None:
    """Drop from the index the vectors of this batch that were not ``chosen`` (positions among the
    ``n_added`` most recent), so index and corpus stay identical."""
    v = st.index.vectors()
    start = len(v) - n_added
    keep = np.ones(len(v), dtype=bool)
    keep[start:] = False
    keep[start + chosen] = True
    st.index.load_state(v[keep], st.index.centroids)


def run_pipeline(out: str | Path, cfg: SynthConfig, task: Task, quiet: bool = False, embedder=None, backend=None,
                 stop_after: int | None = None) -> pd.DataFrame:
    """Run (or resume) the loop into ``out/.state`` until the corpus holds ``cfg.size`` rows of ``task``.

    ``stop_after`` ends after that many *new* iterations (tests use it to simulate a kill).
    Returns the corpus (with ``kind`` and ``iteration`` columns) and its embeddings via ``load_corpus``."""
    from taskdistill.progress import make_progress

    out = Path(out)
    sd = _state_dir(out)
    sd.mkdir(parents=True, exist_ok=True)
    cfg.check_task(task)
    key = {**cfg.generation_key(), "task": task.hash}
    cfg_file = sd / "config.json"
    if cfg_file.exists():
        saved, now = json.loads(cfg_file.read_text()), json.loads(json.dumps(key))
        if saved != now:
            diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            raise ConfigError(f"{out}: holds a run with different generation settings ({', '.join(diff)}); "
                             "use another --out folder or delete it")
    else:
        atomic_write_text(cfg_file, json.dumps(key, indent=1, sort_keys=True))
    st = _State(cfg, task)
    _load(sd, st)
    if st.n >= cfg.size or st.iteration >= cfg.max_iterations:
        return load_corpus(out, task)[0]
    if embedder is None:
        from taskdistill.data.synth.embed import shared_embedder

        embedder = shared_embedder()
    backend = backend or make_backend(cfg, task)
    done = 0
    with make_progress(quiet, info=False) as prog:
        task = prog.add_task(f"synth iter {st.iteration}", total=cfg.size, completed=st.n)
        while st.n < cfg.size and st.iteration < cfg.max_iterations:
            run_iteration(st, backend, embedder)
            _save_iteration(sd, st, st.rows[-1], st.emb[-1], getattr(st, "_trained_now", False))
            h = st.history[-1]
            prog.update(task, completed=st.n, description=f"synth iter {st.iteration}: kept {h['kept']}/{h['generated']}, "
                                                         f"near-dup {h['near_duplicate_rate']:.0%}")
            done += 1
            if stop_after is not None and done >= stop_after:
                break
    if st.n < cfg.size and stop_after is None:
        raise RuntimeError(f"{out}: stopped after {st.iteration} iterations with {st.n}/{cfg.size} rows; "
                           "raise max_iterations or lower the dedup threshold")
    return load_corpus(out, task)[0]


def load_corpus(out: str | Path, task: Task) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    """(corpus rows, their embeddings, per-iteration stats) from a run's checkpoints."""
    sd = _state_dir(Path(out))
    iters = sorted(p for p in sd.glob("iter-*") if p.is_dir())
    if not iters:
        return (pd.DataFrame(columns=[*split_columns(task), "iteration"]), np.zeros((0, 384), np.float32), [])
    rows = pd.concat([pd.read_parquet(p / "rows.parquet") for p in iters], ignore_index=True)
    emb = np.concatenate([np.load(p / "emb.npy") for p in iters])
    hist = [json.loads((p / "state.json").read_text())["stats"] for p in iters]
    return rows, emb, hist


def split_columns(task: Task) -> list[str]:
    """Columns of a generated split file: the contract columns plus ``kind``."""
    return ["id", task.input_field, "label", "category", "rationale", "kind"]


def generate_dataset(out: str | Path, cfg: SynthConfig, task: Task, quiet: bool = False, embedder=None,
                     backend=None) -> Path:
    """Run/resume the loop, then write ``train/validation/test.parquet``, ``stats.json``, ``stats.png``
    and ``task.yaml`` (the task the data is labelled for).

    Split files carry the contract columns plus ``kind`` (simple / numeric / multi / distractor /
    other:<sub-kind>) so evaluation can break scores down by difficulty."""
    from taskdistill.cache import atomic_write_bytes
    from taskdistill.data.splits import make_splits
    from taskdistill.data.stats import dataset_stats, plot_stats
    from taskdistill.data.taskfile import write_task_yaml

    cfg.check_split_sizes(task)  # before any generation: a too-small size says which sizes work
    out = Path(out)
    run_pipeline(out, cfg, task, quiet=quiet, embedder=embedder, backend=backend)
    rows, emb, hist = load_corpus(out, task)
    splits, info = make_splits(rows, emb, task, cfg.test_per_class, cfg.val_per_class, seed=cfg.seed,
                               threshold=cfg.threshold)
    for name, df in splits.items():
        import io

        buf = io.BytesIO()
        df[split_columns(task)].to_parquet(buf, index=False)
        atomic_write_bytes(out / f"{name}.parquet", buf.getvalue())
    hist_no_time = [{k: v for k, v in h.items() if k != "seconds"} for h in hist]
    stats = dataset_stats(splits, task, hist_no_time, extra=dict(
        splits=info, config=cfg.model_dump(mode="json"), seconds_per_iteration=None))
    stats.pop("seconds_per_iteration")
    # plain json.dumps with indent=1: the byte layout of stats.json is part of the determinism tests
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=1, sort_keys=True) + "\n")
    atomic_write_text(out / "timings.json", json.dumps(dict(
        seconds=[h.get("seconds") for h in hist], total_seconds=round(sum(h.get("seconds", 0) for h in hist), 2)),
        indent=1) + "\n")
    plot_stats(stats, out / "stats.png", task)
    write_task_yaml(task, out / "task.yaml")
    return out
