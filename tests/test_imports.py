"""The import graph of the stage packages: no cycles, lower layers never import higher ones.

Built with ``ast`` from the source (module-level *and* function-level imports, since a lazy import is
still a dependency). Each stage's ``cli.py`` belongs to the command-line layer at the top (it may
reach any stage), so its edges are checked only against ``taskdistill.cli`` and the main job.
"""

from __future__ import annotations

import pytest

# The import walk is shared with docs/architecture.md's generated graph.
from scripts.import_graph import edges, find_cycle
from scripts.import_graph import graph as package_graph

# Lower rank = lower layer. A module may import its own rank or lower, never higher.
LAYERS = [
    ("errors", "console", "checks", "lazy", "cache", "config", "progress", "assets", "options"),
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


def graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """(package -> packages it imports, from non-cli modules), and every (file, from, to) edge."""
    return package_graph(), [(e.file, e.src, e.dst) for e in edges()]


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
