"""One command line: every command answers --help, every option has help text, and an option name means
one thing everywhere (same type, default, help text and short form in every command that has it)."""

from __future__ import annotations

import subprocess
import sys
from enum import Enum

import pytest
import typer
from typer.testing import CliRunner

from taskdistill.cli import app


def walk(cmd, path: tuple[str, ...] = ()):
    """``(path, command)`` for a click command and every sub-command under it, depth first (typer ships its
    own copy of click, so groups and options are recognised by their attributes, not their classes)."""
    yield path, cmd
    if getattr(cmd, "commands", None):
        for name in sorted(cmd.commands):
            yield from walk(cmd.commands[name], (*path, name))


def is_option(param) -> bool:
    return getattr(param, "param_type_name", None) == "option"


def _type(param):
    """The option's Python type; an enum as its choices (typer builds the click type lazily)."""
    desc = getattr(param, "type_descriptor", None)
    t = desc.annotation if desc is not None else param.type
    if isinstance(t, type) and issubclass(t, Enum):
        return ("choice", tuple(m.value for m in t))
    return getattr(t, "__name__", repr(t))


def _default(param):
    d = param.default
    return d.value if isinstance(d, Enum) else d


def signature(param) -> dict:
    """What must agree between two options of the same name."""
    return {
        "type": _type(param),
        "default": _default(param),
        "help": param.help,
        "short": tuple(sorted(o for o in (*param.opts, *param.secondary_opts) if not o.startswith("--"))),
        "flag": (param.is_flag, param.multiple, tuple(sorted(o for o in param.secondary_opts if o.startswith("--")))),
    }


def option_conflicts(root) -> list[str]:
    """One line per option name whose definitions differ between commands (empty: consistent)."""
    seen: dict[str, tuple[str, dict]] = {}
    problems = []
    for path, cmd in walk(root):
        where = " ".join(path) or "(top)"
        for param in cmd.params:
            if not is_option(param):
                continue
            sig = signature(param)
            for name in (o for o in param.opts if o.startswith("--")):
                if name == "--help":
                    continue
                if name not in seen:
                    seen[name] = (where, sig)
                    continue
                first, ref = seen[name]
                for key in ref:
                    if ref[key] != sig[key]:
                        problems.append(f"{name}: {key} differs between `{first}` ({ref[key]!r}) and `{where}` "
                                        f"({sig[key]!r})")
    return problems


def missing_help(root) -> list[str]:
    return [f"{' '.join(path) or '(top)'}: {param.opts[0]}"
            for path, cmd in walk(root) for param in cmd.params
            if is_option(param) and not (param.help or "").strip()]


ROOT = typer.main.get_command(app)
COMMANDS = [path for path, _ in walk(ROOT)]


def test_the_walk_sees_every_command():
    names = {" ".join(p) for p in COMMANDS}
    for expected in ("run", "info", "prune", "distill", "eval", "fit", "recommend", "report", "sweep run",
                     "sweep plan", "sweep status", "sweep export", "teacher prepare", "teacher annotate",
                     "data import", "data generate", "data validate", "data stats", "data default", "task show",
                     "task validate", "task init"):
        assert expected in names


def test_option_names_mean_one_thing_everywhere():
    assert option_conflicts(ROOT) == []


def test_every_option_has_help():
    assert missing_help(ROOT) == []


def test_shared_decisions():
    cmds = dict(walk(ROOT))
    opts = {path: {o for p in c.params if is_option(p) for o in p.opts} for path, c in cmds.items()}
    for path in (("run",), ("sweep", "run"), ("sweep", "export"), ("fit",), ("report",), ("prune",), ("eval",),
                 ("distill",), ("teacher", "prepare"), ("data", "import"), ("data", "generate"), ("task", "init")):
        assert {"--out", "-o"} <= opts[path], path
    for gone in ("--preset", "--config", "-c"):
        assert gone not in opts[("run",)]
    for path in (("fit",), ("recommend",)):
        assert "--sweep" not in opts[path]
    assert "--importance" in opts[("prune",)] and "--method" not in opts[("prune",)]
    assert "--openai-model" in opts[("teacher", "annotate")] and "--model" not in opts[("teacher", "annotate")]
    assert "--base-url" not in opts[("teacher", "annotate")]
    method = next(p for p in cmds[("distill",)].params if p.name == "method")
    assert _type(method) == ("choice", ("logit", "lora"))


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "top")
def test_help_of_every_command(path):
    r = CliRunner().invoke(app, [*path, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output


def test_the_checker_catches_a_conflicting_option():
    """A throwaway app where two commands define --seed differently: the same checker must object."""
    bad = typer.Typer()

    @bad.command("a")
    def a(seed: int = typer.Option(0, "--seed", help="Random seed.")):
        pass

    @bad.command("b")
    def b(seed: int = typer.Option(0, "--seed", help="The seed of the shuffle.")):
        pass

    problems = option_conflicts(typer.main.get_command(bad))
    assert len(problems) == 1 and problems[0].startswith("--seed: help differs")

    short = typer.Typer()

    @short.command("a")
    def a2(out: str = typer.Option("x", "--out", "-o", help="Output.")):
        pass

    @short.command("b")
    def b2(out: str = typer.Option("y", "--out", help="Output.")):
        pass

    found = option_conflicts(typer.main.get_command(short))
    assert any(p.startswith("--out: default differs") for p in found)
    assert any(p.startswith("--out: short differs") for p in found)

    nohelp = typer.Typer()

    @nohelp.command("a")
    def a3(seed: int = typer.Option(0, "--seed")):
        pass

    @nohelp.command("b")
    def b3():
        pass

    assert missing_help(typer.main.get_command(nohelp)) == ["a: --seed"]


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from taskdistill.cli import app; "
            "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
