"""MiniLM sentence embeddings for semantic dedup and few-shot selection.

Loaded once per process from the offline asset (``taskdistill.assets.minilm_dir()``); embeddings
are L2-normalised float32 so a dot product is the cosine. Headlines are short, so the encoder's
sequence length is capped at 64 tokens (cheaper padding, identical vectors for any real headline).
"""

from __future__ import annotations

import numpy as np


class Embedder:
    """Batched, normalised MiniLM embeddings (dim 384)."""

    dim = 384

    def __init__(self, model_dir=None, batch_size: int = 128, device: str = "cpu", max_seq_length: int = 64):
        import torch
        from sentence_transformers import SentenceTransformer

        from taskdistill.assets import minilm_dir

        torch.set_num_threads(min(2, torch.get_num_threads()))
        self.model = SentenceTransformer(str(model_dir or minilm_dir()), device=device)
        self.model.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(out, dtype=np.float32)


_SHARED: dict[str, Embedder] = {}


def shared_embedder() -> Embedder:
    """One Embedder per process (loading costs ~1 s and 90 MB)."""
    if "minilm" not in _SHARED:
        _SHARED["minilm"] = Embedder()
    return _SHARED["minilm"]
