"""Bad inputs to annotate / load_annotations fail early with messages naming the problem."""

import json

import pytest

from taskdistill.errors import InputError
from taskdistill.targets import AnnotationError, load_annotations
from taskdistill.teacher.annotate import annotate
from taskdistill.teacher.config import GenerationConfig
from taskdistill.teacher.identity import TeacherInputError


@pytest.mark.parametrize("kwargs,msg", [
    (dict(formats=("label", "json")), "formats"),
    (dict(formats=()), "formats"),
    (dict(backend="vllm"), "unknown backend 'vllm'"),
    (dict(policy="maybe"), "unknown trace policy"),
    (dict(k=0), "k must be >= 1"),
    (dict(limit=0), "limit must be >= 1"),
    (dict(backend="openai"), "needs a base URL and a model name"),
])
def test_bad_settings(dataset_dir, kwargs, msg):
    with pytest.raises(AnnotationError, match=msg):
        annotate("tiny:llama", dataset_dir, **kwargs)


def test_local_backend_needs_a_teacher(dataset_dir):
    with pytest.raises(AnnotationError, match="needs a teacher"):
        annotate(None, dataset_dir)


def test_missing_dataset_and_split(tmp_path, dataset_dir):
    with pytest.raises(TeacherInputError, match="dataset folder not found"):
        annotate("tiny:llama", tmp_path / "nope")
    (dataset_dir / "validation.parquet").unlink()
    with pytest.raises(InputError, match=r"missing validation\.parquet"):
        annotate("tiny:llama", dataset_dir, split="validation", formats=("label",))


def test_teacher_prepared_on_other_dataset(tmp_path, dataset_dir):
    from taskdistill.models import make_tiny_model

    model, tok = make_tiny_model("llama")
    teacher = tmp_path / "teacher"
    model.save_pretrained(teacher)
    tok.save_pretrained(teacher)
    (teacher / "teacher_report.json").write_text(json.dumps({"dataset_hash": "0123456789abcdef",
                                                             "dataset_dir": "/elsewhere"}))
    with pytest.raises(AnnotationError, match=r"prepared on dataset /elsewhere .* --allow-other-data"):
        annotate(teacher, dataset_dir, formats=("label",))


def test_load_annotations_errors(tmp_path):
    with pytest.raises(AnnotationError, match="annotations folder not found"):
        load_annotations(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    with pytest.raises(AnnotationError, match="no meta.json"):
        load_annotations(tmp_path / "a")
    (tmp_path / "a" / "meta.json").write_text(json.dumps({"teacher_hash": "t1", "data_hash": "d1",
                                                          "formats": ["label"], "examples_hash": {}}))
    with pytest.raises(AnnotationError, match="from teacher t1, expected t2"):
        load_annotations(tmp_path / "a", expect_teacher="t2")
    with pytest.raises(AnnotationError, match="for dataset d1, expected d2"):
        load_annotations(tmp_path / "a", expect_data="d2")
    ann = load_annotations(tmp_path / "a", expect_teacher="t1", expect_data="d1")
    with pytest.raises(AnnotationError, match=r"has no 'cot' annotations .*--formats cot"):
        ann.frame("cot")
    with pytest.raises(AnnotationError, match="no CoT traces"):
        ann.traces()


def test_generation_config_is_strict():
    with pytest.raises(ValueError):
        GenerationConfig(max_new_tokens=2)
