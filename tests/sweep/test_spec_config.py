"""The sweep spec's stage sections are the stages' own typed configs, and a node's settings are what the
spec gave: the same dicts as when the sections were plain mappings, so cache keys did not move."""

from __future__ import annotations

import inspect

import pytest
import yaml

from taskdistill.config import ConfigError
from taskdistill.distill.config import DistillConfig
from taskdistill.evaluate.config import EvalConfig
from taskdistill.prune.config import PruneConfig
from taskdistill.sweep.dag import expand, unique_nodes
from taskdistill.sweep.spec import PRESETS, SweepSpec, load_spec, preset_path
from taskdistill.teacher.config import AnnotateOptions, TeacherConfig

from .test_spec_plan import spec_dict, write


@pytest.mark.parametrize("preset", PRESETS)
def test_node_settings_are_the_sections_as_written(preset):
    raw = yaml.safe_load(preset_path(preset).read_text())
    spec = load_spec(preset_path(preset))
    assert isinstance(spec.teacher.prepare, TeacherConfig) and isinstance(spec.prune, PruneConfig)
    assert isinstance(spec.distill, DistillConfig) and isinstance(spec.eval, EvalConfig)
    assert isinstance(spec.annotate.options, AnnotateOptions)
    nodes = list(unique_nodes(expand(spec)).values())
    by = {n.stage: n for n in nodes}
    assert by["teacher"].params["prepare"] == raw["teacher"].get("prepare", {})
    assert by["annotate"].params["options"] == raw.get("annotate", {}).get("options", {})
    assert by["prune"].params["options"] == raw.get("prune", {}).get("options", {})
    budget = ("steps", "epochs")
    assert by["distill"].params["config"] == {k: v for k, v in raw["distill"].items() if k not in budget}
    assert by["evaluate"].params["eval"] == {k: v for k, v in raw["eval"].items() if k != "transfer"}
    # the stored / worker form rebuilds the same nodes
    again = SweepSpec.model_validate(spec.to_json())
    assert [c.cell_id for c in expand(again)] == [c.cell_id for c in expand(spec)]


def test_every_section_rejects_unknown_keys_naming_the_field(tmp_path):
    cases = {
        "teacher.prepare.stepz": {"teacher": {"base": "tiny:llama", "prepare": {"stepz": 3}}},
        "teacher.prepare.train.lr": {"teacher": {"base": "tiny:llama", "prepare": {"lr": -1.0}}},
        "annotate.options.gen.max_new_tokenz": {"annotate": {"formats": ["label"],
                                                             "options": {"gen": {"max_new_tokenz": 8}}}},
        "annotate.options.policy": {"annotate": {"formats": ["label"], "options": {"policy": "maybe"}}},
        "prune.method": {"prune": {"method": "magic"}},
        "prune.options.layer_scor": {"prune": {"options": {"layer_scor": "skip_loss"}}},
        "distill.lr_typo": {"distill": {"epochs": 1, "lr_typo": 1.0}},
        "eval.mmlu_n": {"eval": {"mmlu_n": -1}},
    }
    for i, (field, over) in enumerate(cases.items()):
        with pytest.raises(ConfigError, match=rf"{i}\.yaml: invalid SweepSpec: field '{field}'"):
            load_spec(write(tmp_path / f"{i}.yaml", spec_dict(**over)))
    with pytest.raises(ConfigError, match="field 'distill': seed is a grid axis; set it under grid.seed"):
        load_spec(write(tmp_path / "axis.yaml", spec_dict(distill={"epochs": 1, "seed": 3})))
    # a cross-field rule of DistillConfig, checked with the grid's methods
    with pytest.raises(ConfigError, match="lora_targets.*method lora"):
        load_spec(write(tmp_path / "lora.yaml", spec_dict(grid={"dataset_size": [16], "target": [0.5],
                                                                "method": ["lora"]},
                                                          distill={"epochs": 1, "warmup_steps": 0,
                                                                   "lora_targets": []})))


def test_cell_config_is_a_distill_config():
    spec = load_spec(preset_path("tiny"))
    cfg = spec.cell_config(method="lora", supervision="label", seed=3, steps=5)
    assert (cfg.method, cfg.supervision, cfg.seed, cfg.steps) == ("lora", "label", 3, 5)
    assert (cfg.batch_size, cfg.max_length, cfg.warmup_steps) == (4, 384, 0)  # from the spec
    assert cfg.lr == DistillConfig().lr  # not given: DistillConfig's default


def _defaults(fn, names):
    sig = inspect.signature(fn).parameters
    return {n: sig[n].default for n in names}


def test_configs_mirror_the_functions_they_feed():
    """The typed sections list exactly the keyword arguments of the stage functions, with their defaults."""
    from taskdistill.evaluate.record import evaluate_model
    from taskdistill.teacher.annotate import annotate
    from taskdistill.teacher.config import BACKENDS, POLICIES

    fields = set(AnnotateOptions.model_fields) - {"gen"}
    # device: where the stage runs (execution.device), never a setting of what it computes
    fixed = {"teacher_dir", "dataset_dir", "k", "formats", "quiet", "task", "allow_other_data", "gen", "device"}
    assert set(inspect.signature(annotate).parameters) - fixed == fields
    assert _defaults(annotate, fields) == {n: AnnotateOptions.model_fields[n].default for n in fields}
    assert set(AnnotateOptions.model_fields["policy"].annotation.__args__) == set(POLICIES)
    assert set(AnnotateOptions.model_fields["backend"].annotation.__args__) == set(BACKENDS)

    fixed = {"model_or_spec", "split_path", "progress", "tokenizer", "task", "device"}
    names = set(inspect.signature(evaluate_model).parameters) - fixed
    assert names == set(EvalConfig.model_fields)
    assert _defaults(evaluate_model, names) == {n: EvalConfig.model_fields[n].default for n in names}
