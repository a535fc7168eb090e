"""Evaluate-stage tests run torch on one thread: the tiny models' ops are microseconds long, and on
a shared, oversubscribed CPU two OpenMP threads wait on each other for a scheduler slice per op
(measured here: the same naive scoring took 19 s on 2 threads vs 0.6 s on 1)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
