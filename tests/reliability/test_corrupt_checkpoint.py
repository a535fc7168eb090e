"""Every command that loads a model refuses a corrupted checkpoint (missing tensor, wrong shape,
truncated file): exit code 2, a message naming the weights file and the tensor, no output written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from taskdistill.cli import app

# command -> argv builder (model folder, dataset folder, output path)
COMMANDS = {
    "eval": lambda m, data, out: ["eval", "--model", str(m), "--data", str(data / "test.parquet"),
                                  "--mmlu", "0", "--out", str(out)],
    "prune": lambda m, data, out: ["prune", "--model", str(m), "--target", "0.5", "--out", str(out)],
    "distill": lambda m, data, out: ["distill", "--student", str(m), "--data", str(data / "train.parquet"),
                                     "--steps", "1", "--out", str(out)],
    "teacher-prepare": lambda m, data, out: ["teacher", "prepare", "--base", str(m), "--data", str(data),
                                             "--steps", "1", "--out", str(out)],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_refuses_a_corrupt_checkpoint(command, corrupt_ckpt, tiny_dataset, tmp_path):
    ckpt, words = corrupt_ckpt
    out = tmp_path / "out"
    before = sorted(p.name for p in tmp_path.iterdir())
    r = CliRunner().invoke(app, COMMANDS[command](ckpt, tiny_dataset, out))
    # Some commands still print through a console that wraps long lines (even inside a path), so
    # compare with all whitespace removed.
    text = "".join(r.output.split())
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert "error:" in text, r.output
    for w in words:
        assert "".join(w.split()) in text, (w, r.output)
    assert "Traceback" not in r.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
