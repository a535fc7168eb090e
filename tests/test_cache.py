import os

import pytest

from taskdistill.cache import atomic_dir, atomic_write_json, content_hash, file_hash, home
from taskdistill.config import ConfigError, StrictModel, load_yaml


def test_home_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKDISTILL_HOME", str(tmp_path / "h"))
    assert home() == tmp_path / "h" and home().is_dir()


def test_content_hash_is_order_independent_and_value_sensitive():
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert content_hash(0.1) != content_hash(0.10000001)


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_dir(final) as d:
        (d / "half.bin").write_bytes(b"x")
        raise RuntimeError("killed")
    assert not final.exists()
    assert os.listdir(tmp_path) == []
    with atomic_dir(final) as d:
        (d / "whole.bin").write_bytes(b"x")
    assert (final / "whole.bin").read_bytes() == b"x"


def test_atomic_json_and_file_hash(tmp_path):
    p = atomic_write_json(tmp_path / "r.json", {"x": 1})
    h1 = file_hash(p)
    atomic_write_json(p, {"x": 2})
    assert file_hash(p) != h1


class _Cfg(StrictModel):
    lr: float
    steps: int = 10


def test_load_yaml_names_file_and_field(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("lr: 0.1\nstep: 3\n")
    with pytest.raises(ConfigError, match=r"(?s)c.yaml.*'step'"):
        load_yaml(f, _Cfg)
    f.write_text("lr: fast\n")
    with pytest.raises(ConfigError, match=r"field 'lr'"):
        load_yaml(f, _Cfg)
    f.write_text("lr: 0.5\n")
    assert load_yaml(f, _Cfg).steps == 10


def test_atomic_json_keeps_numbers_as_numbers(tmp_path):
    import json

    p = atomic_write_json(tmp_path / "m.json", {"f1": 0.5, "n": 3, "path": tmp_path})
    assert json.loads(p.read_text()) == {"f1": 0.5, "n": 3, "path": str(tmp_path)}
    assert oct(p.stat().st_mode & 0o777) == "0o644"


def test_atomic_json_writes_numpy_and_torch_values_as_plain_json(tmp_path):
    import json

    import numpy as np
    import torch

    obj = {"acc": np.float32(0.25), "n": np.int64(7), "probs": np.array([0.5, 0.5]), "t": torch.tensor([1, 2]),
           "ok": np.bool_(True)}
    p = atomic_write_json(tmp_path / "np.json", obj)
    assert json.loads(p.read_text()) == {"acc": 0.25, "n": 7, "probs": [0.5, 0.5], "t": [1, 2], "ok": True}
