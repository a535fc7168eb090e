import pytest
from pydantic import ValidationError

from taskdistill.config import ConfigError, load_yaml
from taskdistill.errors import InputError
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
    with pytest.raises(InputError, match=r"missing test\.parquet \(found: train\.parquet, "):
        dataset_hash(dataset_dir)
    with pytest.raises(TeacherInputError, match="dataset folder not found"):
        read_split(tmp_path / "nope", "train", FH)


def test_model_hash(tmp_path):
    from taskdistill.models import CheckpointError, make_tiny_model

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
    with pytest.raises(CheckpointError, match="no config.json"):
        model_hash(tmp_path)


def test_teacher_training_settings_are_a_distill_config():
    """The trainer gets the same DistillConfig (and run hash) as when the teacher copied its fields by hand."""
    from taskdistill.cache import content_hash
    from taskdistill.distill.config import DistillConfig

    before = DistillConfig(method="logit", supervision="sft", steps=100, batch_size=8, grad_accum=1, lr=3e-4,
                           warmup_steps=10, min_lr=0.1, weight_decay=0.0, seed=0, checkpoint_every=10,
                           max_length=128, lora_r=16, lora_alpha=32)
    cfg = TeacherConfig()
    assert isinstance(cfg.train, DistillConfig) and cfg.train == before
    assert content_hash(cfg.train) == content_hash(before)
    # flat keys (presets, --config files) and the nested form are the same config
    assert TeacherConfig(steps=50, cot_fraction=0.5) == TeacherConfig(train={"steps": 50}, cot_fraction=0.5)
    assert TeacherConfig(steps=50).given() == {"steps": 50}
    # settings the old copy never passed on now reach the trainer
    assert TeacherConfig(lora_dropout=0.1, lora_targets=("q_proj",)).train.lora_targets == ("q_proj",)
    # a warm-up as long as the run is shortened, as before
    assert TeacherConfig(steps=5).train.warmup_steps == 4


def test_teacher_config_errors():
    with pytest.raises(ValidationError, match="steps: given both at the top level and under train"):
        TeacherConfig(steps=5, train={"steps": 6})
    with pytest.raises(ValidationError, match="trained with 'sft'"):
        TeacherConfig(train={"supervision": "blended"})
    with pytest.raises(ConfigError, match="field 'train.lr'"):
        from taskdistill.config import validate

        validate(TeacherConfig, {"lr": -1.0})


def test_teacher_keys_did_not_move():
    """Keys recorded before the training settings moved into ``train``: prepared teachers stay cached."""
    assert teacher_key("b", "d", "t", TeacherConfig()) == "7b2c3f3801eeac22"
    tiny = dict(steps=2, batch_size=4, cot_fraction=0.0, warmup_steps=0, max_length=384, eval_limit=8,
                eval_batch_size=8, cot_eval_limit=0, checkpoint_every=100)
    assert teacher_key("b", "d", "t", TeacherConfig(**tiny)) == "6d65a8ebd8ef55e3"
    lora = dict(method="lora", lora_r=8, lora_alpha=16, steps=50)
    assert teacher_key("b", "d", "t", TeacherConfig(**lora)) == "e779958b5928a701"
    # a training field the old key did not have changes the key only when it leaves its default
    assert teacher_key("b", "d", "t", TeacherConfig(lora_dropout=0.1)) != "7b2c3f3801eeac22"
    assert teacher_key("b", "d", "t", TeacherConfig(kd="forward")) == "7b2c3f3801eeac22"
