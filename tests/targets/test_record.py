"""The task recorded beside an output, and the one-line refusal when a consumer brings another task."""

from __future__ import annotations

import json

import pytest

from taskdistill.targets import AnnotationError, load_annotations
from taskdistill.targets.examples import ExampleError, build_examples
from taskdistill.targets.record import TaskMismatchError, check_task, recorded_task, resolve_task, write_task
from taskdistill.task import load_task

from .conftest import MAXLEN

FH = load_task("finheadlines")
COARSE = load_task("finheadlines-coarse")


def test_task_yaml_round_trips_with_the_same_hash(tmp_path):
    for task in (FH, COARSE):
        d = tmp_path / task.name
        write_task(d, task)
        assert recorded_task(d) == task and recorded_task(d).hash == task.hash
    assert recorded_task(tmp_path / "nothing-here") is None
    # rewritten in place (a new teacher at the same --out): the new definition is read
    write_task(tmp_path / "x", FH)
    write_task(tmp_path / "x", COARSE)
    assert recorded_task(tmp_path / "x").name == "finheadlines-coarse"


def test_check_and_resolve(tmp_path):
    check_task(FH, None, "x")  # nothing recorded: anything goes
    check_task(FH, {"name": "finheadlines", "hash": FH.hash}, "x")
    with pytest.raises(TaskMismatchError, match=r"teacher /t was made for task 'finheadlines' .* "
                                                r"'finheadlines-coarse' .* was given; pass --task finheadlines"):
        check_task(COARSE, FH, "teacher /t")
    write_task(tmp_path, COARSE)
    assert resolve_task(None, tmp_path).name == "finheadlines-coarse"  # the folder's own task
    assert resolve_task(None, tmp_path / "none").name == "finheadlines"  # nothing recorded: the default
    with pytest.raises(TaskMismatchError, match="model .* was made for task 'finheadlines-coarse'"):
        resolve_task("finheadlines", tmp_path, what="model")


def test_annotations_check_the_task(tmp_path):
    d = tmp_path / "ann"
    d.mkdir()
    (d / "meta.json").write_text(json.dumps({"teacher_hash": "t", "data_hash": "d", "formats": ["label"],
                                             "examples_hash": {}, "task": {"name": FH.name, "hash": FH.hash}}))
    write_task(d, FH)
    assert load_annotations(d).task.hash == FH.hash  # no task given: the recorded one
    assert load_annotations(d, "finheadlines").task_ref["hash"] == FH.hash
    with pytest.raises(AnnotationError, match="annotations .* was made for task 'finheadlines'"):
        load_annotations(d, COARSE)


def test_examples_use_the_tasks_input_field_and_labels(small, tmp_path):
    import pandas as pd

    _, tok = small
    toy = tmp_path / "toy.yaml"
    toy.write_text("name: toy\ninput_field: text\ninstructions: {label: 'Route it.', cot: 'Route it; think.'}\n"
                   "answer_format: '<<{label}>>'\nlabels: [{answer: billing}, {answer: tech}]\n")
    toy = load_task(toy)
    df = pd.DataFrame({"id": ["a", "b"], "text": ["refund me", "app crash"], "label": ["billing", "tech"]})
    ex = build_examples(tok, toy, df, max_length=MAXLEN)
    assert tok.decode(list(ex[1].targets)) == "<<tech>><|im_end|>" and set(ex[1].segments) == {"answer"}
    assert "app crash" in tok.decode(list(ex[1].input_ids[:ex[1].prompt_len]))
    with pytest.raises(ExampleError, match="missing column.*'text'"):
        build_examples(tok, toy, df.rename(columns={"text": "headline"}), max_length=MAXLEN)
    with pytest.raises(ExampleError, match=r"row 'a'.*not one of the 2 labels of task 'toy'"):
        build_examples(tok, toy, df.assign(label=["Dividends", "tech"]), max_length=MAXLEN)
