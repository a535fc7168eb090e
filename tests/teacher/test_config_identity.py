import pytest
from pydantic import ValidationError

from taskdistill.config import ConfigError, load_yaml
from taskdistill.teacher.config import TeacherConfig
from taskdistill.teacher.identity import TeacherInputError, dataset_hash, model_hash, read_split
from taskdistill.teacher.prepare import teacher_key

from .conftest import FH


def test_config_rejects_bad_values(tmp_path):
    with pytest.raises(ValidationError):
        TeacherConfig(cot_fraction=1.5)
    with pytest.raises(ValidationError, match="unknown split"):
        TeacherConfig(eval_splits=("dev",))
    p = tmp_path / "t.yaml"
    p.write_text("steps: 10\nstepz: 3\n")
    with pytest.raises(ConfigError, match="field 'stepz'"):
        load_yaml(p, TeacherConfig)


def test_teacher_key_changes_with_every_input():
    cfg = TeacherConfig()
    k = teacher_key("b", "d", "t", cfg)
    assert k == teacher_key("b", "d", "t", TeacherConfig())
    assert len({k, teacher_key("b2", "d", "t", cfg), teacher_key("b", "d2", "t", cfg),
                teacher_key("b", "d", "t2", cfg), teacher_key("b", "d", "t", TeacherConfig(lr=5e-4))}) == 5


def test_dataset_hash_follows_content_not_path(dataset_dir, tmp_path):
    import shutil

    h = dataset_hash(dataset_dir)
    copy = tmp_path / "copy"
    shutil.copytree(dataset_dir, copy)
    assert dataset_hash(copy) == h
    (copy / "stats.json").write_text("{}")  # stats do not count
    assert dataset_hash(copy) == h
    df = read_split(copy, "train", FH)
    df.iloc[:-1].to_parquet(copy / "train.parquet", index=False)
    assert dataset_hash(copy) != h
    assert dataset_hash(copy, ("test",)) == dataset_hash(dataset_dir, ("test",))


def test_missing_split_is_named(dataset_dir, tmp_path):
    (dataset_dir / "test.parquet").unlink()
    with pytest.raises(TeacherInputError, match=r"missing test\.parquet \(found: train\.parquet, "):
        dataset_hash(dataset_dir)
    with pytest.raises(TeacherInputError, match="dataset folder not found"):
        read_split(tmp_path / "nope", "train", FH)


def test_model_hash(tmp_path):
    from taskdistill.models import make_tiny_model

    m, tok = make_tiny_model("llama")
    m.save_pretrained(tmp_path / "a")
    tok.save_pretrained(tmp_path / "a")
    h = model_hash(tmp_path / "a")
    (tmp_path / "a" / "teacher_report.json").write_text("{}")  # reports do not count
    assert model_hash(tmp_path / "a") == h
    m2, _ = make_tiny_model("llama", seed=1)
    m2.save_pretrained(tmp_path / "b")
    tok.save_pretrained(tmp_path / "b")
    assert model_hash(tmp_path / "b") != h
    with pytest.raises(TeacherInputError, match="no config.json"):
        model_hash(tmp_path)
