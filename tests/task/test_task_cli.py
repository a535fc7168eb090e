"""`taskdistill task show|validate|init`: round trip, and one-line errors with exit code 2."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.task import load_task
from tests.task.toy import LABELS, write_toy_task

runner = CliRunner()


def test_show_builtin_and_json():
    r = runner.invoke(app, ["task", "show", "finheadlines"])
    assert r.exit_code == 0, r.output
    t = load_task("finheadlines")
    assert f"task finheadlines  (hash {t.hash})" in r.output and "input field: headline" in r.output
    assert "labels: 35 in 13 groups" in r.output and "rating upgrade" in r.output and "[Analyst Rating]" in r.output
    assert "chance (label level): accuracy 0.0286" in r.output and "chance (group level)" in r.output
    r = runner.invoke(app, ["task", "show", "finheadlines-coarse", "--json"])
    d = json.loads(r.output)
    assert d["n_classes"] == 13 and d["derive"] == {"task": "finheadlines", "map": "group"}
    assert [lab["answer"] for lab in d["labels"]] == list(load_task("finheadlines-coarse").label_names)


def test_init_validate_show_round_trip(tmp_path):
    out = tmp_path / "routing.yaml"
    r = runner.invoke(app, ["task", "init", "--labels", "billing, technical,account,shipping", "--name",
                            "ticket-routing", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("# Task ticket-routing")  # commented, ready to edit
    r = runner.invoke(app, ["task", "validate", str(out)])
    assert r.exit_code == 0 and "ok:" in r.output and "4 labels" in r.output and "input field 'text'" in r.output
    assert load_task(out).label_names == ("billing", "technical", "account", "shipping")
    r = runner.invoke(app, ["task", "show", str(out)])
    assert r.exit_code == 0 and "labels: 4 (no groups)" in r.output and "macro-F1 0.2500" in r.output
    # refuses to overwrite unless asked
    r = runner.invoke(app, ["task", "init", "--labels", "a,b", "--name", "x", "--out", str(out)])
    assert r.exit_code == 2 and "exists; pass --overwrite" in r.output
    # labels from a data file: distinct values of a column, sorted
    csv_path, _ = write_toy_task(tmp_path / "toy")
    out2 = tmp_path / "from_csv.yaml"
    r = runner.invoke(app, ["task", "init", "--labels-from", str(csv_path), "--label-column", "queue", "--name",
                            "tickets", "--out", str(out2)])
    assert r.exit_code == 0, r.output
    assert load_task(out2).label_names == tuple(sorted(LABELS))
    r = runner.invoke(app, ["task", "init", "--labels-from", str(csv_path), "--name", "t", "--out",
                            str(tmp_path / "z.yaml")])
    assert r.exit_code == 2 and "field 'label': no such column" in r.output


def test_errors_are_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad Name\ninput_field: text\ninstructions: {label: a, cot: b}\n"
                   "labels: [{answer: x}, {answer: y}]\n")
    r = runner.invoke(app, ["task", "validate", str(bad)])
    assert r.exit_code == 2 and r.output.startswith(f"error: {bad}: field 'name':")
    assert len(r.output.strip().splitlines()) == 1
    bad.write_text("name: ok\ninstructions: {label: a, cot: b}\nlabels: [{answer: x}, {answer: x}]\n")
    r = runner.invoke(app, ["task", "validate", str(bad)])
    assert r.exit_code == 2 and "field 'labels': duplicate answer(s) ['x']" in r.output
    r = runner.invoke(app, ["task", "validate", str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2 and "missing.yaml: no such file" in r.output
    r = runner.invoke(app, ["task", "show", "nonesuch"])
    assert r.exit_code == 2 and "not a built-in task" in r.output
    r = runner.invoke(app, ["task", "init", "--labels", "only-one", "--name", "t", "--out", str(tmp_path / "o.yaml")])
    assert r.exit_code == 2 and "at least 2 labels" in r.output
    r = runner.invoke(app, ["task", "init", "--labels", "a,[b]", "--name", "t", "--out", str(tmp_path / "o.yaml")])
    assert r.exit_code == 2 and "brackets" in r.output
