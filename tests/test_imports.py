"""The import graph of the stage packages: no cycles, lower layers never import higher ones.

Built with ``ast`` from the source (module-level *and* function-level imports, since a lazy import is
still a dependency). Each stage's ``cli.py`` belongs to the command-line layer at the top (it may
reach any stage), so its edges are checked only against ``taskdistill.cli`` and the main job.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "taskdistill"

# Lower rank = lower layer. A module may import its own rank or lower, never higher.
LAYERS = [
    ("errors", "console", "checks", "lazy", "cache", "config", "progress", "assets"),
    ("task",),
    ("models", "info"),  # info's one stage import (models) is for `info --timings`
    ("data",),
    ("targets",),
    ("evaluate", "prune"),
    ("distill",),
    ("teacher",),
    ("scaling",),
    ("report",),
    ("sweep",),
    ("pipeline",),
    ("cli",),
]
RANK = {name: i for i, group in enumerate(LAYERS) for name in group}
TOP = ("cli", "presets", "__init__", "__main__")


def unit_of(path: Path) -> tuple[str, bool]:
    """(stage package or top-level module, whether the file is a command-line module)."""
    rel = path.relative_to(SRC)
    unit = rel.parts[0].removesuffix(".py")
    return unit, rel.name == "cli.py" and len(rel.parts) > 1


def imported_units(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "taskdistill" and len(parts) > 1:
                out.add(parts[1])
    return out


def graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """(package -> packages it imports, from non-cli modules), and every (file, from, to) edge."""
    g: dict[str, set[str]] = defaultdict(set)
    edges = []
    for path in sorted(SRC.rglob("*.py")):
        unit, is_cli = unit_of(path)
        for dep in imported_units(path):
            if dep == unit:
                continue
            edges.append((str(path.relative_to(SRC)), "cli" if is_cli else unit, dep))
            if not is_cli:
                g[unit].add(dep)
    return g, edges


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_the_graph_is_read():
    g, _ = graph()
    assert "task" in g["prune"] and "sweep" in g["pipeline"]  # the parser sees real edges


def test_no_cycle_between_stage_packages():
    g, _ = graph()
    assert find_cycle(g) is None, f"import cycle: {' -> '.join(find_cycle(g))}"


def test_lower_layers_never_import_higher_ones():
    _, edges = graph()
    bad = []
    for file, src, dst in edges:
        if src == "cli" or src in TOP or dst == "presets":
            continue
        if src not in RANK or dst not in RANK:
            bad.append(f"{file}: {src} -> {dst} (package not placed in a layer of this test)")
        elif RANK[dst] > RANK[src]:
            bad.append(f"{file}: {src} imports {dst}, a higher layer")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("forbidden", ["cli", "pipeline"])
def test_stages_do_not_import_the_top(forbidden):
    _, edges = graph()
    bad = [f for f, src, dst in edges if dst == forbidden and src not in ("cli", *TOP, "pipeline")]
    assert not bad, f"{forbidden} imported by {bad}"


def test_scaling_does_not_import_sweep():
    g, _ = graph()
    assert "sweep" not in g["scaling"]
