"""The one error path: a TaskdistillError is one line and exit 2; anything else is a bug (traceback, exit 1)."""

import subprocess
import sys

import pytest

from taskdistill.errors import InputError, OutputLockedError, TaskdistillError, describe_holder, error_line

_APP = '''
import typer
from taskdistill.cli import TaskdistillGroup
from taskdistill.errors import InputError

app = typer.Typer(cls=TaskdistillGroup, pretty_exceptions_enable=False)
sub = typer.Typer()
app.add_typer(sub, name="sub")


@app.command()
def user(path: str):
    raise InputError(f"{path}: row 3, field 'label'", "'Buyback' is not a label of task finheadlines;\\n"
                     "fix the row or pass --on-bad skip")


@app.command()
def bug():
    {}["missing"]


@app.command()
def ok():
    print("fine")


@sub.command()
def nested():
    raise InputError("--batch-size", "must be >= 1, got 0")


app()
'''


def _app_module(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(_APP)
    return script


def _run(script, *args, debug=False):
    import os

    env = {k: v for k, v in os.environ.items() if k != "TASKDISTILL_DEBUG"}
    if debug:
        env["TASKDISTILL_DEBUG"] = "1"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, env=env)


def test_user_error_is_one_line_exit_2_and_a_bug_a_traceback_exit_1(tmp_path):
    """Real processes: what a user sees in a terminal."""
    script = _app_module(tmp_path)
    r = _run(script, "user", "data.csv")
    assert r.returncode == 2
    assert r.stderr == ("error: data.csv: row 3, field 'label': 'Buyback' is not a label of task finheadlines; "
                        "fix the row or pass --on-bad skip\n")
    assert r.stdout == ""
    r = _run(script, "bug")
    assert r.returncode == 1
    assert "Traceback (most recent call last)" in r.stderr
    assert "KeyError: 'missing'" in r.stderr
    assert "error:" not in r.stderr


@pytest.fixture
def app():
    """The same app, in-process (cheap) for the remaining cases."""
    src = _APP.rsplit("app()", 1)[0]
    scope: dict = {}
    exec(compile(src, "app.py", "exec"), scope)
    return scope["app"]


def test_user_error_in_a_sub_command_goes_the_same_way(app):
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["sub", "nested"])
    assert (r.exit_code, r.stderr) == (2, "error: --batch-size: must be >= 1, got 0\n")


def test_debug_env_shows_the_traceback_of_a_user_error(app, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.setenv("TASKDISTILL_DEBUG", "1")
    r = CliRunner().invoke(app, ["user", "x.csv"])
    assert r.exit_code == 1 and isinstance(r.exception, InputError)


def test_a_good_command_and_click_usage_errors_are_untouched(app):
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["ok"])
    assert (r.exit_code, r.stdout) == (0, "fine\n")
    r = CliRunner().invoke(app, ["user"])  # missing argument: click's own message, exit 2
    assert r.exit_code == 2 and "Missing argument" in r.stderr


def test_the_real_app_uses_the_handler():
    from taskdistill.cli import TaskdistillGroup, app

    assert app.info.cls is TaskdistillGroup


def test_error_classes():
    e = InputError("runs/a/spec.yaml: field 'teacher'", "unsupported teacher 'gpt9'")
    assert isinstance(e, TaskdistillError) and isinstance(e, ValueError)
    assert e.where == "runs/a/spec.yaml: field 'teacher'" and e.exit_code == 2
    assert str(e) == "runs/a/spec.yaml: field 'teacher': unsupported teacher 'gpt9'"
    assert error_line(TaskdistillError("a\n  b\n")) == "error: a b"
    assert describe_holder({}) == "another process"
    assert describe_holder({"pid": 7, "host": "h", "command": "c", "since": "t"}) == "pid 7 on host h (c), since t"
    locked = OutputLockedError("runs/a", {"pid": 7})
    assert str(locked).startswith("runs/a: pid 7 is writing this folder")


def test_existing_model_errors_share_the_base():
    from taskdistill.models import CheckpointError, ModelLoadError, UnsupportedModelError

    for cls in (ModelLoadError, CheckpointError, UnsupportedModelError):
        assert issubclass(cls, TaskdistillError)
    assert issubclass(ModelLoadError, FileNotFoundError)  # callers that catch it that way keep working
    assert issubclass(UnsupportedModelError, ValueError)
