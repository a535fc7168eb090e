"""`data import`: a user's own labelled file (CSV, JSONL, parquet) becomes a dataset folder of a task."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.data.importer import import_file
from taskdistill.data.loader import DataValidationError, data_hash, load_dataset
from taskdistill.data.splits import SplitError
from taskdistill.data.synth.dedup import normalize
from taskdistill.task import load_task
from tests.task.toy import LABELS, toy_rows, write_toy_task

runner = CliRunner()


def normalized_overlap(a, b) -> int:
    return len({normalize(t) for t in a} & {normalize(t) for t in b})


def _write(rows: list[dict], path):
    df = pd.DataFrame(rows)
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    else:
        df.to_parquet(path, index=False)
    return path


@pytest.fixture
def toy(tmp_path):
    csv_path, task_path = write_toy_task(tmp_path / "src", n_per_label=40)
    return csv_path, load_task(task_path)


def _rows_with_problems():
    rows = toy_rows(n_per_label=30, seed=1)
    rows += [dict(ticket_id="X1", ticket="   ", queue="billing"),                    # empty_text
             dict(ticket_id="X2", ticket="My modem is on fire", queue="hardware"),   # unknown_label
             dict(ticket_id="X3", ticket=rows[0]["ticket"], queue=rows[0]["queue"]),  # exact duplicate
             dict(ticket_id="X4", ticket=rows[1]["ticket"], queue=rows[1]["queue"]),  # exact duplicate
             dict(ticket_id="X5", ticket="Refund please, order 12", queue="Billing")]  # alias -> billing
    return rows


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_import_formats_bad_rows_duplicates(tmp_path, toy, suffix):
    _, task = toy
    f = _write(_rows_with_problems(), tmp_path / f"tickets{suffix}")
    mapping = {"text": "ticket", "label": "queue", "id": "ticket_id"}
    with pytest.raises(DataValidationError) as ei:
        import_file(f, task, tmp_path / "out", mapping)
    e = ei.value
    assert (e.reason, e.field, e.row) == ("empty_text", "text", 120) and str(f) in str(e)
    assert not (tmp_path / "out").exists()  # nothing written on error
    m = import_file(f, task, tmp_path / "out", mapping, on_bad="skip", plot=False)
    c = m["counts"]
    assert c["rows_read"] == 125 and c["bad_rows_dropped"] == {"empty_text": 1, "unknown_label": 1}
    assert c["duplicates_removed"] == 2 and c["aliased_labels"] == 1 and c["kept"] == 121
    assert c["per_label"] == {"billing": 31, "technical": 30, "account": 30, "shipping": 30}
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {"train.parquet", "validation.parquet", "test.parquet", "stats.json",
                                               "task.yaml", "manifest.json"}
    assert m["data_hash"] == data_hash(out) and m["task"] == {"name": "ticket-routing", "hash": task.hash}
    assert load_task(out / "task.yaml").hash == task.hash  # the copy is the same task
    splits = load_dataset(out, task)  # the strict loader accepts what import wrote
    assert sum(len(s) for s in splits.values()) == 121
    assert list(splits["test"].columns) == ["id", "text", "label", "category", "rationale"]
    for name in ("validation", "test"):  # stratified: every label in every held-out split, ~10% of it
        counts = splits[name]["label"].value_counts()
        assert set(counts.index) == set(LABELS) and counts.between(2, 4).all(), counts
    assert "X5" in set(pd.concat(splits.values())["id"])


def test_import_is_leak_free_and_deterministic(tmp_path, toy):
    _, task = toy
    rows = toy_rows(n_per_label=40, seed=2)
    # near-copies that differ only in case, spacing and punctuation must stay in one split
    rows += [dict(ticket_id=f"N{i}", ticket="  " + r["ticket"].upper().rstrip(".") + " !!", queue=r["queue"])
             for i, r in enumerate(rows[:30])]
    f = _write(rows, tmp_path / "t.csv")
    mapping = {"text": "ticket", "label": "queue", "id": "ticket_id"}
    m1 = import_file(f, task, tmp_path / "a", mapping, plot=False, val_frac=0.15, test_frac=0.25)
    splits = load_dataset(tmp_path / "a", task)
    assert normalized_overlap(splits["train"]["text"], splits["test"]["text"]) == 0
    assert normalized_overlap(splits["train"]["text"], splits["validation"]["text"]) == 0
    assert normalized_overlap(splits["validation"]["text"], splits["test"]["text"]) == 0
    # file order does not matter; the seed does
    shuffled = _write(pd.DataFrame(rows).sample(frac=1, random_state=0).to_dict("records"), tmp_path / "s.csv")
    m2 = import_file(shuffled, task, tmp_path / "b", mapping, plot=False, val_frac=0.15, test_frac=0.25)
    assert m2["data_hash"] == m1["data_hash"] and m2["source"]["hash"] != m1["source"]["hash"]
    m3 = import_file(f, task, tmp_path / "c", mapping, plot=False, val_frac=0.15, test_frac=0.25, seed=1)
    assert m3["data_hash"] != m1["data_hash"]
    # rerunning over an earlier import replaces it; any other folder is refused
    assert import_file(f, task, tmp_path / "a", mapping, plot=False, val_frac=0.15, test_frac=0.25) == m1
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DataValidationError, match="not an earlier import"):
        import_file(f, task, tmp_path / "mine", mapping)


def test_import_size_and_mapping_errors(tmp_path, toy):
    _, task = toy
    rows = toy_rows(n_per_label=20)
    few = [r for r in rows if r["queue"] != "shipping"] + [r for r in rows if r["queue"] == "shipping"][:2]
    f = _write(few, tmp_path / "few.csv")
    with pytest.raises(SplitError, match=r"every label needs at least 3 distinct texts .* \{'shipping': 2\}"):
        import_file(f, task, tmp_path / "o", {"text": "ticket", "label": "queue"})
    g = _write([r for r in rows if r["queue"] != "shipping"], tmp_path / "none.csv")
    with pytest.raises(SplitError, match=r"1 label\(s\) have none \['shipping'\]"):
        import_file(g, task, tmp_path / "o", {"text": "ticket", "label": "queue"})
    with pytest.raises(SplitError, match="--test-frac must be between 0 and 1"):
        import_file(g, task, tmp_path / "o", {"text": "ticket", "label": "queue"}, test_frac=1.5)
    with pytest.raises(DataValidationError, match=r"--map text=body: no column 'body'; file has"):
        import_file(g, task, tmp_path / "o", {"text": "body", "label": "queue"})
    with pytest.raises(DataValidationError, match=r"no column for \['label'\].* pass --map label=COLUMN"):
        import_file(g, task, tmp_path / "o", {"text": "ticket"})
    with pytest.raises(DataValidationError, match=r"unknown field 'colour'"):
        import_file(g, task, tmp_path / "o", {"text": "ticket", "label": "queue", "colour": "queue"})


def test_cli_import_toy_task_end_to_end(tmp_path):
    """The toy ticket-routing task: task validate -> data import -> data stats, with the task's own labels."""
    csv_path, task_path = write_toy_task(tmp_path)
    r = runner.invoke(app, ["task", "validate", str(task_path)])
    assert r.exit_code == 0 and "task ticket-routing" in r.output and "4 labels" in r.output
    out = tmp_path / "ds"
    r = runner.invoke(app, ["data", "import", str(csv_path), "--task", str(task_path), "--map", "text=ticket",
                            "--map", "label=queue", "--map", "id=ticket_id", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "300 rows read, 300 kept for task ticket-routing (4 labels)" in r.output
    st = json.loads((out / "stats.json").read_text())
    assert set(st["label_share"]) == set(LABELS) and "category_share" not in st
    assert st["sizes"]["train"] + st["sizes"]["validation"] + st["sizes"]["test"] == 300
    assert (out / "stats.png").stat().st_size > 1000
    r = runner.invoke(app, ["data", "stats", str(out), "--write"])  # reads the folder's task.yaml
    assert r.exit_code == 0 and "min label share 25.00%" in r.output
    # one-line errors, exit code 2
    r = runner.invoke(app, ["data", "import", str(csv_path), "--task", str(task_path), "--map", "text=ticket",
                            "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and r.output.startswith("error: ") and "--map label=COLUMN" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("ticket,queue\nMy printer is broken again today,hardware\n")
    r = runner.invoke(app, ["data", "import", str(bad), "--task", str(task_path), "--map", "text=ticket",
                            "--map", "label=queue", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "bad.csv: row 0 (line 2), field 'label': unknown label 'hardware'" in r.output
    assert len(r.output.strip().splitlines()) == 1
