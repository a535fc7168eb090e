"""Every validation path of the split loader names the file, row and field."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from taskdistill.data.loader import DataValidationError, load_dataset, load_split
from taskdistill.task import load_task

FIN = load_task("finheadlines")

GOOD = [
    dict(id="a", headline="Goldman Sachs Upgrades Apple to Buy", label="rating upgrade", rationale="r1"),
    dict(id="b", headline="Boeing to cut 2,000 jobs", label="layoffs", rationale="r2"),
    dict(id="c", headline="Stocks close higher as tech rally extends", label="other", rationale=""),
]


def _jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_round_trip_all_formats(tmp_path):
    df = pd.DataFrame(GOOD)
    df.to_parquet(tmp_path / "s.parquet", index=False)
    df.to_csv(tmp_path / "s.csv", index=False)
    _jsonl(tmp_path / "s.jsonl", GOOD)
    for f in ("s.parquet", "s.csv", "s.jsonl"):
        out = load_split(tmp_path / f, FIN)
        assert list(out.columns) == ["id", "headline", "label", "category", "rationale"]
        assert out["category"].tolist() == ["Analyst Rating", "Labour Issues", "OTHER"]
        assert out["headline"].tolist() == [r["headline"] for r in GOOD]
        assert out["rationale"].tolist() == ["r1", "r2", ""]


@pytest.mark.parametrize("row,reason,field,idx", [
    (dict(id="x", headline="   ", label="layoffs"), "empty_text", "headline", 3),
    (dict(id="x", headline="", label="layoffs"), "empty_text", "headline", 3),
    (dict(id="x", headline="Apple jumps", label="bullish"), "unknown_label", "label", 3),
    (dict(id="x", headline=12345, label="layoffs"), "non_text", "headline", 3),
    (dict(id="x", headline="Apple jumps", label=None), "non_text", "label", 3),
    (dict(id="x", headline="Appleâ€™s shares jump", label="shares rise"), "bad_encoding", "headline", 3),
    (dict(id="a", headline="Another headline here", label="layoffs"), "duplicate_id", "id", 3),
    (dict(id="z", headline="Boeing to cut 2,000 jobs", label="layoffs"), "duplicate_row", "headline", 3),
    (dict(id="z", headline="Boeing to cut 2,000 jobs", label="layoffs", category="Earnings"), "category_mismatch",
     "category", 3),
])
def test_each_bad_row_kind_errors_with_location(tmp_path, row, reason, field, idx):
    f = _jsonl(tmp_path / "bad.jsonl", GOOD + [row])
    with pytest.raises(DataValidationError) as ei:
        load_split(f, FIN)
    e = ei.value
    assert (e.reason, e.field, e.row) == (reason, field, idx)
    msg = str(e)
    assert str(f) in msg and f"row {idx} (line {idx + 1})" in msg and f"field '{field}'" in msg and reason in msg
    # skip mode drops exactly that row and counts it
    rep: dict = {}
    out = load_split(f, FIN, on_bad="skip", report=rep)
    assert len(out) == 3 and rep == {"rows": 4, "kept": 3, "dropped": {reason: 1}, "aliased": 0}


def test_skip_counts_several_reasons(tmp_path):
    rows = GOOD + [dict(id="d", headline=" ", label="layoffs"), dict(id="e", headline="X", label="nope"),
                   dict(id="f", headline="Y rises", label="nope"), GOOD[0] | {"id": "g"}]
    rep: dict = {}
    out = load_split(_jsonl(tmp_path / "m.jsonl", rows), FIN, on_bad="skip", report=rep)
    assert len(out) == 3
    assert rep["dropped"] == {"empty_text": 1, "unknown_label": 2, "duplicate_row": 1}


def test_csv_wrong_encoding_names_line(tmp_path):
    f = tmp_path / "latin.csv"
    f.write_bytes("id,headline,label\na,Good headline here,layoffs\nb,Soci\xe9t\xe9 G\xe9n\xe9rale cuts jobs,layoffs\n"
                  .encode("latin-1"))
    with pytest.raises(DataValidationError, match=r"latin.csv: line 3: not valid UTF-8") as ei:
        load_split(f, FIN)
    assert ei.value.reason == "bad_encoding"


def test_parquet_null_and_number_cells(tmp_path):
    df = pd.DataFrame(dict(id=["a", "b"], headline=["Apple jumps 5%", None], label=["shares rise", "shares rise"]))
    df.to_parquet(tmp_path / "n.parquet", index=False)
    with pytest.raises(DataValidationError, match=r"n.parquet: row 1, field 'headline': expected text, got null"):
        load_split(tmp_path / "n.parquet", FIN)


def test_schema_errors(tmp_path):
    with pytest.raises(DataValidationError, match="file not found"):
        load_split(tmp_path / "missing.parquet", FIN)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataValidationError, match="unsupported file type"):
        load_split(tmp_path / "x.txt", FIN)
    f = _jsonl(tmp_path / "cols.jsonl", [dict(text="Apple jumps", event="shares rise")])
    with pytest.raises(DataValidationError, match=r"missing required column\(s\) \['headline', 'label'\]"):
        load_split(f, FIN)
    out = load_split(f, FIN, column_map={"text": "headline", "event": "label"})
    assert out.loc[0, "label"] == "shares rise" and out.loc[0, "id"] == "cols-0"
    with pytest.raises(DataValidationError, match="column_map names columns not in the file"):
        load_split(f, FIN, column_map={"body": "headline"})
    (tmp_path / "broken.jsonl").write_text('{"headline": "a b c", "label": "other"}\n{not json}\n')
    with pytest.raises(DataValidationError, match=r"broken.jsonl: line 2: not valid JSON"):
        load_split(tmp_path / "broken.jsonl", FIN)
    with pytest.raises(ValueError, match="on_bad"):
        load_split(f, FIN, on_bad="fix")


def test_headlines_are_never_altered(tmp_path):
    rows = [dict(id="a", headline="  UPDATE 1-Apple  jumps ", label="shares rise")]
    out = load_split(_jsonl(tmp_path / "w.jsonl", rows), FIN)
    assert out.loc[0, "headline"] == "  UPDATE 1-Apple  jumps "


def test_load_dataset_folder(tmp_path):
    for name in ("train", "validation", "test"):
        pd.DataFrame(GOOD).to_parquet(tmp_path / f"{name}.parquet", index=False)
    d = load_dataset(tmp_path, FIN)
    assert set(d) == {"train", "validation", "test"} and len(d["test"]) == 3
    (tmp_path / "test.parquet").unlink()
    with pytest.raises(DataValidationError, match="no test.parquet"):
        load_dataset(tmp_path, FIN)


def test_conflicting_label_is_a_bad_row(tmp_path):
    rows = GOOD + [dict(id="z", headline="Boeing to cut 2,000 jobs", label="other")]
    f = _jsonl(tmp_path / "c.jsonl", rows)
    with pytest.raises(DataValidationError, match=r"row 3 \(line 4\), field 'label': same headline as row 1 but "
                                                  r"label 'other' instead of 'layoffs' \[conflicting_label\]"):
        load_split(f, FIN)


def test_aliases_and_derived_task_groups(tmp_path):
    """finheadlines-coarse: its 13 labels, an alias mapped (and counted), category = the label itself."""
    coarse = load_task("finheadlines-coarse")
    rows = [dict(id="a", headline="Goldman Sachs Upgrades Apple to Buy", label="Analyst Rating"),
            dict(id="b", headline="Acme CEO steps down", label="Management changes"),
            dict(id="c", headline="Boeing to cut 2,000 jobs", label="layoffs")]
    f = _jsonl(tmp_path / "coarse.jsonl", rows)
    rep: dict = {}
    out = load_split(f, coarse, on_bad="skip", report=rep)
    assert out["label"].tolist() == ["Analyst Rating", "Labour Issues"]
    assert out["category"].tolist() == out["label"].tolist()
    assert rep == {"rows": 3, "kept": 2, "dropped": {"unknown_label": 1}, "aliased": 1}
    with pytest.raises(DataValidationError, match="unknown label 'layoffs' \\(not one of the 13 labels of task "
                                                  "'finheadlines-coarse'\\)"):
        load_split(f, coarse)


def test_input_field_of_a_user_task(tmp_path):
    from tests.task.toy import write_toy_task

    _, task_path = write_toy_task(tmp_path)
    task = load_task(task_path)
    f = _jsonl(tmp_path / "t.jsonl", [dict(text="I cannot log in", label="account"),
                                      dict(text="   ", label="billing"), dict(text="Refund?", label="Billing")])
    rep: dict = {}
    out = load_split(f, task, on_bad="skip", report=rep)
    assert list(out.columns) == ["id", "text", "label", "category", "rationale"]
    assert out["label"].tolist() == ["account", "billing"] and out["id"].tolist() == ["t-0", "t-2"]
    assert rep["dropped"] == {"empty_text": 1} and rep["aliased"] == 1
    with pytest.raises(DataValidationError, match=r"row 1 \(line 2\), field 'text': empty or whitespace-only text"):
        load_split(f, task)
    with pytest.raises(DataValidationError, match=r"missing required column\(s\) \['text'\]"):
        load_split(f, task, column_map={"text": "body"})


def test_read_split_picks_the_split_of_a_folder_or_reads_a_file(tmp_path):
    """The one reader every stage uses: a folder means its <split>.parquet, a file is read as is."""
    from taskdistill.data.loader import read_split, split_file
    from taskdistill.errors import InputError

    pd.DataFrame(GOOD).to_parquet(tmp_path / "train.parquet", index=False)
    pd.DataFrame(GOOD[:1]).to_parquet(tmp_path / "test.parquet", index=False)
    _jsonl(tmp_path / "rows.jsonl", GOOD[1:])
    assert split_file(tmp_path) == tmp_path / "train.parquet"
    assert len(read_split(tmp_path, FIN)) == 3 and len(read_split(tmp_path, FIN, "test")) == 1
    assert read_split(tmp_path / "rows.jsonl", FIN, "test")["id"].tolist() == ["b", "c"]
    with pytest.raises(InputError, match=r"missing validation\.parquet \(found: test\.parquet, train\.parquet\)"):
        read_split(tmp_path, FIN, "validation")
    with pytest.raises(InputError, match="nope.csv: no such split file or dataset folder"):
        read_split(tmp_path / "nope.csv", FIN)
    with pytest.raises(InputError, match="'../train' is not a usable name"):
        split_file(tmp_path, "../train")
