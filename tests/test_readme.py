"""The README stays short, and the commands of its "Your own task" section run as written.

The section's commands are read from the README itself and run in a temporary folder on a toy
ticket-routing CSV (the same columns the README names: ``ticket`` and ``queue``). The final ``run`` is
only parsed (every option must exist and accept its value): the full run of a user task through the
command line is tests/test_pipeline.py.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import typer
from typer.testing import CliRunner

from taskdistill.cli import app
from tests.task.toy import write_toy_task

README = Path(__file__).resolve().parents[1] / "README.md"


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert m, f"README has no section '## {title}'"
    return m.group(1)


def commands(text: str) -> list[list[str]]:
    """The `taskdistill` command lines of the bash blocks in ``text``, comments removed."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv and argv[0].endswith("taskdistill"):
                out.append(argv[1:])
    return out


def test_readme_is_at_most_700_words():
    assert len(README.read_text(encoding="utf-8").split()) <= 700


def test_readme_names_the_two_make_targets():
    body = section("Install and run")
    assert "make install" in body and "make demo" in body


def test_own_task_commands_run_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    csv_path, _ = write_toy_task(tmp_path / "toy", n_per_label=60)
    shutil.copy(csv_path, tmp_path / "tickets.csv")
    cmds = commands(section("Your own task"))
    assert [c[:2] for c in cmds] == [["task", "init"], ["task", "validate"], ["task", "show"],
                                     ["data", "import"], ["run", "tiny"]]
    runner = CliRunner()
    for argv in cmds[:-1]:
        res = runner.invoke(app, argv)
        assert res.exit_code == 0, f"taskdistill {' '.join(argv)}\n{res.output}"
    assert (tmp_path / "data" / "tickets" / "train.parquet").is_file()
    # `run` is parsed, not run: options and values must be accepted
    run = typer.main.get_command(app).get_command(None, "run")
    ctx = run.make_context("run", list(cmds[-1][1:]))
    assert ctx.params["spec"] == "tiny" and ctx.params["task"] == "tickets.yaml"
