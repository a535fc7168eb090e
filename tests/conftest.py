"""Shared fixtures.

No test writes to the user's cache folder. At import (before any test module, fixture or import reads
it) ``TASKDISTILL_HOME`` points to a fresh session folder that is deleted when the session ends; each
fast test then gets its own empty folder on top (``_private_home``). Slow/smoke tests share the session
folder, so the real SmolLM2 conversion happens at most once per test run; when the user's cache already
holds a converted registry model, the session folder links to it read-only (loading never writes into
a model folder) instead of converting it again.

``TASKDISTILL_TEST_HOME=DIR`` keeps the session folder at DIR instead (not deleted), e.g. to keep a
conversion between runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_USER_HOME = Path(os.environ.get("TASKDISTILL_HOME") or Path.home() / ".cache" / "taskdistill").expanduser()
_KEEP = os.environ.get("TASKDISTILL_TEST_HOME")
SESSION_HOME = Path(_KEEP).expanduser() if _KEEP else Path(tempfile.mkdtemp(prefix="taskdistill-tests-"))
SESSION_HOME.mkdir(parents=True, exist_ok=True)
os.environ["TASKDISTILL_HOME"] = str(SESSION_HOME)


def _link_converted_models() -> None:
    """Reuse (read-only) registry conversions the user's cache already has, e.g. ``smollm2-135m-instruct@*``;
    never the user's tiny models or anything else."""
    src, dst = _USER_HOME / "models", SESSION_HOME / "models"
    if src.resolve() == dst.resolve() or not src.is_dir():
        return
    for d in src.iterdir():
        if "@" in d.name and (d / "config.json").is_file() and not (dst / d.name).exists():
            dst.mkdir(exist_ok=True)
            (dst / d.name).symlink_to(d.resolve(), target_is_directory=True)


_link_converted_models()

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_sessionfinish(session, exitstatus):
    if not _KEEP:
        shutil.rmtree(SESSION_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def _private_home(request, tmp_path_factory, monkeypatch):
    monkeypatch.delenv("TASKDISTILL_QUIET", raising=False)  # `run --quiet` in-process sets it; undone after
    if request.node.get_closest_marker("slow") or request.node.get_closest_marker("smoke"):
        return
    monkeypatch.setenv("TASKDISTILL_HOME", str(tmp_path_factory.mktemp("tdhome")))


@pytest.fixture(params=["llama", "qwen2", "qwen3"])
def tiny_arch(request) -> str:
    return request.param


@pytest.fixture
def tiny(tiny_arch):
    """(model, tokenizer) for each tiny architecture."""
    from taskdistill.models import make_tiny_model

    return make_tiny_model(tiny_arch)


@pytest.fixture(scope="session")
def smollm2():
    """The real SmolLM2-135M-Instruct (converted at most once per test run, into the session folder)."""
    from taskdistill.models import load_model

    return load_model("smollm2-135m-instruct", quiet=True)
