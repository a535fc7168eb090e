"""prepare_teacher end to end on a tiny model: real training (sft), real before/after evaluation."""

import json

import pytest

from taskdistill.teacher.config import TeacherConfig
from taskdistill.teacher.prepare import load_report, mixed_examples, prepare_teacher

from .conftest import FH, make_split

CFG = TeacherConfig(steps=3, batch_size=4, lr=1e-3, warmup_steps=1, eval_limit=4, heldout_examples=2,
                    cot_eval_limit=2, cot_fraction=0.5, checkpoint_every=2, max_length=320)


def test_mixed_examples_cover_both_formats():
    from taskdistill.models import make_tiny_tokenizer

    tok = make_tiny_tokenizer()
    df = make_split(10)
    df.loc[3, "rationale"] = ""  # no rationale: label format only
    ex, counts = mixed_examples(tok, FH, df, CFG)
    assert counts == {"label": 10, "cot": 9}
    assert [e.fmt for e in ex[:4]] == ["label", "cot", "label", "cot"]
    assert "r3" not in {e.id for e in ex if e.fmt == "cot"}
    assert all(e.has_trace for e in ex if e.fmt == "cot")
    only_label, c = mixed_examples(tok, FH, df, CFG.model_copy(update={"cot_fraction": 0.0}))
    assert c == {"label": 10, "cot": 0} and all(e.fmt == "label" for e in only_label)


def test_prepare_trains_reports_and_caches(dataset_dir, tmp_path):
    from taskdistill.models import load_model

    path = prepare_teacher("tiny:llama", dataset_dir, CFG, quiet=True)
    rep = load_report(path)
    assert rep["examples"] == {"label": 12, "cot": 12}
    for when in ("before", "after"):
        m = rep[when]["test/label"]
        assert m["n"] == 4 and 0.0 <= m["macro_f1"] <= 1.0 and m["nll"] > 0
    assert rep["config"]["train"]["steps"] == 3 and rep["dataset_hash"] and rep["base_hash"]
    # the task is recorded (report + definition) and the key depends on it
    assert rep["task"] == {"name": "finheadlines", "hash": FH.hash}
    assert (path / "task.yaml").is_file()
    log = [json.loads(r) for r in (path / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3]
    assert any("eval" in r for r in log)  # held-out CE before/after
    model, tok = load_model(path)  # a plain HF checkpoint
    base, _ = load_model("tiny:llama")
    changed = any((a - b).abs().max() > 0 for a, b in zip(model.parameters(), base.parameters(), strict=True))
    assert changed
    # cached: the second call returns the same folder without training
    assert prepare_teacher("tiny:llama", dataset_dir, CFG, quiet=True) == path


def test_out_folder_conflicts(dataset_dir, tmp_path):
    out = tmp_path / "teacher"
    out.mkdir()
    (out / "junk.txt").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a prepared teacher"):
        prepare_teacher("tiny:llama", dataset_dir, CFG, quiet=True, out=out)
