"""Efficiency of a model as a classifier of its task: size, throughput, latency.

Compression is only worth something if it buys speed or memory, so every model (teacher and each
student) is measured *the same way*: the same inputs (texts from the split's ``task.input_field``),
the same scoring path as the quality numbers (trie scoring over the task's labels,
``score_labels``), one warm-up call first, the same thread count (recorded). Throughput is inputs/s
at ``batch_size`` (recorded as ``headlines_per_s``); latency is the median wall time of scoring one
input alone (batch 1), the number a user of a single request sees.

Parameter counts use ``taskdistill.models.arch.count_params`` (tied embeddings once; the
non-embedding count drops input embeddings and an untied head). Size on disk is the bytes of the
checkpoint's weight files when a folder is known, else the bytes the parameters would take as
stored (dtype size x unique parameters), and the record says which.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from taskdistill.errors import InputError
from taskdistill.models.arch import count_params
from taskdistill.task import Task

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def checkpoint_bytes(checkpoint_dir: str | Path) -> int:
    d = Path(checkpoint_dir)
    if not d.is_dir():
        raise InputError(d, "checkpoint folder not found")
    return sum(p.stat().st_size for p in d.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def param_bytes(model) -> int:
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel() * p.element_size()
    return total


def measure_efficiency(model, tokenizer, task: Task, *, texts: list[str], checkpoint_dir: str | Path | None = None,
                       batch_size: int = 16, latency_n: int = 8, fmt: str = "label", repeats: int = 1) -> dict:
    """Parameters, size and measured speed of classifying ``texts`` into ``task``'s labels (see
    module docstring)."""
    from taskdistill.evaluate.indomain import score_labels

    if not texts:
        raise ValueError("measure_efficiency needs at least one input text to time")
    if checkpoint_dir is None:
        src = getattr(model, "taskdistill_source", None)
        checkpoint_dir = src if src and Path(src).is_dir() else None
    size = checkpoint_bytes(checkpoint_dir) if checkpoint_dir is not None else param_bytes(model)
    score_labels(model, tokenizer, task, texts[:min(2, len(texts))], fmt=fmt, batch_size=2, progress=False)
    best = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        score_labels(model, tokenizer, task, texts, fmt=fmt, batch_size=batch_size, progress=False)
        best = min(best, time.perf_counter() - t0)
    lat = []
    for h in texts[:latency_n]:
        t0 = time.perf_counter()
        score_labels(model, tokenizer, task, [h], fmt=fmt, batch_size=1, progress=False)
        lat.append(time.perf_counter() - t0)
    return {
        "params": count_params(model),
        "params_non_embedding": count_params(model, non_embedding=True),
        "size_bytes": int(size),
        "size_source": "checkpoint files" if checkpoint_dir is not None else "parameter bytes in memory",
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "headlines_per_s": len(texts) / best,
        "throughput_batch_size": batch_size,
        "throughput_n": len(texts),
        "n_labels": task.n_classes,
        "latency_ms_batch1": 1000 * statistics.median(lat),
        "latency_n": len(lat),
        "threads": torch.get_num_threads(),
        "device": str(next(model.parameters()).device),
    }
