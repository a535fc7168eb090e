"""Shared fixtures. Fast tests use tiny in-code models and a private TASKDISTILL_HOME; tests marked
``slow``/``smoke`` use the real cache (so the SmolLM2 conversion happens once per machine)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _private_home(request, tmp_path_factory, monkeypatch):
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
    """The real SmolLM2-135M-Instruct (converted once into the real cache)."""
    from taskdistill.models import load_model

    return load_model("smollm2-135m-instruct", quiet=True)
