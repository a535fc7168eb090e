"""Subprocess entry for the kill-and-resume and 2-process tests (not collected by pytest).

usage: python _train_script.py OUT CACHE_DIR STEPS GRAD_ACCUM [KILL_AT]
Trains the tiny student with blended KD from the cache; with KILL_AT it SIGKILLs itself right after
that optimizer step (no cleanup, like an OOM kill or a pulled plug)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from taskdistill.distill.trainer import train  # noqa: E402
from taskdistill.models import make_tiny_model  # noqa: E402
from taskdistill.targets.cache import TopKCache  # noqa: E402
from taskdistill.targets.examples import build_examples  # noqa: E402
from tests.distill.test_trainer import resume_cfg  # noqa: E402
from tests.targets.conftest import FH, MAXLEN, SHAPE, make_df  # noqa: E402


def main() -> None:
    out, cache_dir, steps, accum = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    kill_at = int(sys.argv[5]) if len(sys.argv) > 5 else None
    model, tok = make_tiny_model("llama", seed=0, **SHAPE)
    examples = build_examples(tok, FH, make_df(), fmt="cot", max_length=MAXLEN)

    def on_step(step, row):
        if kill_at is not None and step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    train(model, tok, examples, resume_cfg(steps=steps, grad_accum=accum), out,
          cache=TopKCache.open(cache_dir), quiet=True, on_step=on_step)


if __name__ == "__main__":
    main()
