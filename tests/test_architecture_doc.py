"""docs/architecture.md shows the real package graph: regenerated from the source, it must not change."""

from __future__ import annotations

import pytest
from scripts import import_graph as ig


def test_the_doc_embeds_the_current_graph():
    text = ig.DOC.read_text(encoding="utf-8")
    assert ig.render_doc(text) == text, "docs/architecture.md is stale: run python scripts/import_graph.py --write"


def test_the_check_command_agrees():
    assert ig.main(["--check"]) == 0


def test_a_changed_graph_makes_the_doc_stale():
    text = ig.DOC.read_text(encoding="utf-8")
    stale = text.replace("flowchart BT", "flowchart BT\n  cli --> nowhere", 1)
    assert ig.render_doc(stale) == text  # the regenerated part replaces whatever was between the markers
    assert ig.render_doc(stale) != stale


def test_lazy_and_module_level_imports_are_told_apart(tmp_path, monkeypatch):
    pkg = tmp_path / "taskdistill"
    (pkg / "low").mkdir(parents=True)
    (pkg / "high").mkdir()
    (pkg / "low" / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "high" / "__init__.py").write_text(
        "from taskdistill.low import x\n"
        "def f():\n"
        "    import taskdistill.mid.y\n"
        "    from taskdistill import errors, __version__\n"
    )
    (pkg / "high" / "cli.py").write_text("def cmd():\n    from taskdistill.low import z\n")
    monkeypatch.setattr(ig, "SRC", pkg)
    assert ig.imported_units(pkg / "high" / "__init__.py") == {"low": False, "mid": True, "errors": True}
    got = {(e.file, e.src, e.dst, e.lazy) for e in ig.edges()}
    assert got == {
        ("high/__init__.py", "high", "low", False),
        ("high/__init__.py", "high", "mid", True),
        ("high/__init__.py", "high", "errors", True),
        ("high/cli.py", "cli", "low", True),  # a stage's cli.py belongs to the command line
    }
    assert ig.graph() == {"high": {"low", "mid", "errors"}}
    assert ig.base_modules() == ["errors"]


def test_a_doc_without_markers_is_refused():
    with pytest.raises(SystemExit, match="markers"):
        ig.render_doc("# Architecture\n")
