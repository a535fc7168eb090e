"""Prune-test settings."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread for every prune test. The tiny models run thousands of small ops (and a few
    backward passes), where a second thread only adds synchronisation; on the shared, oversubscribed
    2-core machine its barriers stall: the fast prune tests took 17.5 min wall with 2 threads at load ~7
    and 12 s with 1 thread minutes later at load ~5."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
