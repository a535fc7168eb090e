"""The test run never touches the user's cache folder, and every result records the numerics it ran with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from taskdistill.cache import home
from taskdistill.info import runtime

from .conftest import SESSION_HOME

USER_DEFAULT = Path.home() / ".cache" / "taskdistill"


@pytest.fixture(scope="module")
def module_home() -> Path:
    # module/session fixtures run before the per-test private folder is set: they must still miss the user's cache
    return home()


def test_module_fixtures_use_the_session_folder(module_home):
    assert module_home == SESSION_HOME and module_home != USER_DEFAULT


def test_each_fast_test_gets_its_own_empty_folder():
    h = home()
    assert h != SESSION_HOME and h != USER_DEFAULT and h.parent != SESSION_HOME
    assert list(h.iterdir()) == []


@pytest.mark.slow
def test_slow_tests_share_the_session_folder():
    assert home() == SESSION_HOME


def test_runtime_records_threads_kernels_and_overrides(monkeypatch):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        monkeypatch.setenv("MKL_CBWR", "AVX2")
        monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
        r = runtime()
        assert r["torch_threads"] == 1
        assert r["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
        assert r["MKL_CBWR"] == "AVX2" and "ATEN_CPU_CAPABILITY" not in r
        assert r["blas"] in torch.__config__.show()
        assert all(v is None or isinstance(v, (str, int)) for v in r.values())  # flat scalars: goes into result rows
    finally:
        torch.set_num_threads(before)
    assert os.environ["TASKDISTILL_HOME"] != str(USER_DEFAULT)
