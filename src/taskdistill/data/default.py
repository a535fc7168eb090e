"""The embedded default dataset ``finheadlinemix-mini``: made on first use, reused afterwards.

It is produced by the same pipeline as any synthetic dataset (template backend, fixed seed), so it
is regenerated on demand instead of being committed. Its folder under ``stage_dir("data")`` is named
by a hash of the generation settings *and* the grammar/taxonomy source files, so editing a template
yields a new dataset instead of silently reusing a stale one.

Sizes (why): 8,000 kept headlines cost ~1-3 minutes on 2 cores (MiniLM embedding dominates). The
test set is 20 per class (700): with one CPU forward per item, evaluating a student costs a few
minutes, and 20 per class keeps every class in macro-F1. Validation 10 per class (350) for early
stopping; train gets the rest (~6,950). OTHER gets a 3x target weight in train, because real feeds
are mostly OTHER (market wraps, lists, commentary); every class stays above 2% of rows.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from taskdistill.cache import atomic_dir, content_hash, stage_dir
from taskdistill.data.synth.pipeline import SynthConfig, generate_dataset

PRESETS: dict[str, SynthConfig] = {
    "finheadlinemix-mini": SynthConfig(backend="template", size=8000, seed=0, batch_size=2500, threshold=0.9,
                                       target_weights={"other": 3.0}, test_per_class=20, val_per_class=10),
}
# The grammar files decide the content; pipeline logic is versioned by hand (PIPELINE_VERSION) so a
# refactor that does not change outputs does not force every user to regenerate.
_SOURCES = ("synth/templates.py", "synth/pools.py", "taxonomy.yaml")


def _source_hash() -> str:
    from taskdistill.data.synth.pipeline import PIPELINE_VERSION

    root = resources.files("taskdistill.data")
    return content_hash(PIPELINE_VERSION, *[root.joinpath(p).read_text() for p in _SOURCES])


def dataset_dir(name: str = "finheadlinemix-mini") -> Path:
    if name not in PRESETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(PRESETS)}")
    return stage_dir("data") / f"{name}-{content_hash(PRESETS[name], _source_hash())}"


def ensure_dataset(name: str = "finheadlinemix-mini", quiet: bool = False) -> Path:
    """Folder with train/validation/test.parquet + stats.json + stats.png; built on first call."""
    final = dataset_dir(name)
    if (final / "test.parquet").exists():
        return final
    work = final.with_name(final.name + ".work")  # resumable pipeline state survives a kill
    generate_dataset(work, PRESETS[name], quiet=quiet)
    with atomic_dir(final) as tmp:
        for f in ("train.parquet", "validation.parquet", "test.parquet", "stats.json", "stats.png", "timings.json"):
            (tmp / f).write_bytes((work / f).read_bytes())
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return final
