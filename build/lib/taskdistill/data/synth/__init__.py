"""The iterative synthetic-data pipeline (see ``pipeline.py``) and its reusable parts.

Heavy pieces are imported lazily: ``from taskdistill.data.synth import Embedder`` loads
sentence-transformers only when used.
"""

from __future__ import annotations

from taskdistill.data.synth.dedup import ExactDeduper, SemanticIndex, normalize
from taskdistill.data.synth.pipeline import (
    SynthConfig,
    exact_step,
    fewshot_step,
    filter_step,
    generate_dataset,
    load_corpus,
    reweight_step,
    run_pipeline,
    sample_labels,
)
from taskdistill.data.synth.templates import Difficulty, Sample


def __getattr__(name: str):
    if name in ("Embedder", "shared_embedder"):
        from taskdistill.data.synth import embed

        return getattr(embed, name)
    raise AttributeError(name)


__all__ = ["Difficulty", "Embedder", "ExactDeduper", "Sample", "SemanticIndex", "SynthConfig", "exact_step",
           "fewshot_step", "filter_step", "generate_dataset", "load_corpus", "normalize", "reweight_step",
           "run_pipeline", "sample_labels", "shared_embedder"]
