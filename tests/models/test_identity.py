"""The one model identity: a checkpoint by its files, a model object by its state."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from taskdistill.models import CheckpointError, make_tiny_model, model_hash


def _fixed_checkpoint(folder):
    """A checkpoint folder whose every byte is fixed by this test (no library version in it)."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 4}, sort_keys=True))
    (folder / "tokenizer.json").write_text('{"model": {"type": "BPE"}}')
    save_file({"w": torch.arange(8, dtype=torch.float32).reshape(2, 4)}, folder / "model.safetensors")
    return folder


def test_checkpoint_hash_is_pinned(tmp_path):
    """Teacher and annotation caches are keyed by this value (the same as before the stages shared
    this function): it must not move between releases."""
    d = _fixed_checkpoint(tmp_path / "ckpt")
    assert model_hash(d) == "30a9307a5b02d5c9"
    assert model_hash(str(d)) == model_hash(d)
    (d / "teacher_report.json").write_text('{"timings": 1}')  # reports and logs do not count
    (d / "train_log.jsonl").write_text("{}\n")
    assert model_hash(d) == "30a9307a5b02d5c9"
    (d / "tokenizer.json").write_text('{"model": {"type": "WordPiece"}}')  # the tokenizer does
    assert model_hash(d) != "30a9307a5b02d5c9"


def test_checkpoint_hash_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no config.json"):
        model_hash(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="no weights"):
        model_hash(tmp_path)


def test_spec_and_loaded_model(tmp_path, monkeypatch):
    """A spec resolves to its folder; a loaded model is named by its state, which moves with any weight."""
    monkeypatch.setenv("TASKDISTILL_HOME", str(tmp_path / "home"))
    from taskdistill.models import load_model, resolve_model_dir

    assert model_hash("tiny:llama") == model_hash(resolve_model_dir("tiny:llama"))
    model, _ = load_model("tiny:llama")
    h = model_hash(model)
    assert h != model_hash("tiny:llama") and len(h) == 16
    assert model_hash(model) == h  # deterministic
    other, _ = make_tiny_model("llama", seed=1)
    assert model_hash(other) != h
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1
    assert model_hash(model) != h
