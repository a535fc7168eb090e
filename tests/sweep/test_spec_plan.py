"""The sweep spec's task, data-size and budget rules, the packaged presets, and `taskdistill sweep plan`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from taskdistill.cli import app
from taskdistill.config import ConfigError
from taskdistill.sweep.dag import expand, unique_nodes
from taskdistill.sweep.plan import KINDS, plan_sweep
from taskdistill.sweep.spec import PRESETS, SweepSpec, load_spec, preset_path
from taskdistill.task import load_task
from tests.task.toy import write_toy_task


def spec_dict(**over) -> dict:
    d = {"name": "t", "grid": {"dataset_size": [16, 32], "target": [0.79, 0.58], "schedule": ["iterative", "oneshot"],
                               "supervision": ["label"]},
         "teacher": {"base": "tiny:llama"}, "annotate": {"formats": ["label"]},
         "distill": {"epochs": 2, "batch_size": 4, "warmup_steps": 0}}
    d.update(over)
    return d


def write(path: Path, d: dict) -> Path:
    path.write_text(yaml.safe_dump(d))
    return path


def toy_folder(tmp_path: Path, n: int = 40) -> tuple[Path, Path]:
    """A split folder in the toy task's shape (input field ``text``) and the task file."""
    _, task_file = write_toy_task(tmp_path / "toy")
    task = load_task(task_file)
    data = tmp_path / "toy" / "data"
    data.mkdir()
    labels = [task.label_names[i % 4] for i in range(n)]
    df = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "text": [f"ticket {i}" for i in range(n)],
                       "label": labels, "category": labels, "rationale": [""] * n})
    for split in ("train", "validation", "test"):
        df.to_parquet(data / f"{split}.parquet")
    return data, task_file


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_is_package_data_validates_and_plans(name):
    path = preset_path(name)
    assert Path(str(resources.files("taskdistill.presets").joinpath(f"{name}.yaml"))) == path
    spec = load_spec(path)
    plan = plan_sweep(spec)
    assert plan.cells == spec.n_cells() == len(expand(spec))
    assert all(plan.counts[k] >= 1 for k in KINDS) and plan.total_seconds > 0
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        preset_path("nope")


def test_paper_preset_budget_is_epochs_over_its_data():
    spec = load_spec(preset_path("paper"))
    assert spec.budget_unit == "epochs" and spec.eval.mmlu_n == "all"
    # steps = ceil(2 epochs x D / batch 32): the budget grows with D
    assert [spec.distill_steps(d) for d in (200, 6400)] == [13, 400]
    plan = plan_sweep(spec)
    # 864 student cells share nodes: 4 targets x 3 depths ... far fewer distillations than cells
    assert plan.cells == 865 and plan.counts["distill"] < 864 and plan.counts["prepare"] == 1


def test_plan_counts_the_student_models_on_disk(monkeypatch):
    spec = load_spec(preset_path("study"))
    note = next(n for n in plan_sweep(spec).notes if n.startswith("student models"))
    # 58 prune + 126 distill nodes; sizes: each model's fraction of the teacher, summed
    assert note.startswith("student models: 184 prune and distill nodes, 76.1 teacher-sizes")
    freed = spec.model_copy(update={"execution": spec.execution.model_copy(update={"keep_models": "needed"})})
    assert "keep_models: needed deletes each" in next(n for n in plan_sweep(freed).notes if n.startswith("student"))
    kept = spec.model_copy(update={"execution": spec.execution.model_copy(update={"keep_models": "all"})})
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**12, 0, 10**9))  # 1 GB free
    note = next(n for n in plan_sweep(kept).notes if n.startswith("student models"))
    assert "more than the 1.0 GB free" in note and "keep_models: needed" in note


def test_task_builtin_files_ship_with_the_package():
    for name in ("finheadlines", "finheadlines-coarse"):
        assert resources.files("taskdistill.task").joinpath("builtin", f"{name}.yaml").is_file()


def test_dataset_size_beyond_the_data_is_rejected_at_load(tmp_path):
    data, task_file = toy_folder(tmp_path, n=40)
    d = spec_dict(task=str(task_file), data={"path": str(data)})
    d["grid"]["dataset_size"] = [16, 64]
    with pytest.raises(ConfigError, match=r"field 'grid.dataset_size': \[64\] exceed the 40 training rows of "):
        load_spec(write(tmp_path / "s.yaml", d))
    # the built-in dataset (not built here): its generator's bound, 8,000 - 30 x 35 = 6,950
    d = spec_dict()
    d["grid"]["dataset_size"] = [400000]
    with pytest.raises(ConfigError, match="exceed the 6,950 training rows of finheadlinemix-mini"):
        load_spec(write(tmp_path / "s2.yaml", d))


def test_budget_epochs_vs_steps(tmp_path):
    spec = load_spec(write(tmp_path / "s.yaml", spec_dict()))
    assert spec.budget_unit == "epochs" and spec.distill_steps(16) == 8 and spec.distill_steps(32) == 16
    distills = [n for n in unique_nodes(expand(spec)).values() if n.stage == "distill"]
    by = {(n.params["dataset_size"], n.params["steps"]) for n in distills}
    # iterative steps get the per-step budget, one-shot to 58% the whole two-step budget
    assert by == {(16, 8), (32, 16), (16, 16), (32, 32)}
    assert all("epochs" not in n.params["config"] for n in distills)
    with pytest.raises(ConfigError, match="either 'epochs'"):
        load_spec(write(tmp_path / "b.yaml", spec_dict(distill={"epochs": 1, "steps": 3})))
    old = load_spec(write(tmp_path / "o.yaml", spec_dict(distill={"steps": 3, "warmup_steps": 0})))
    assert old.budget_unit == "steps" and old.distill_steps(16) == old.distill_steps(32) == 3
    with pytest.raises(ConfigError, match="field 'distill.warmup_steps'"):
        load_spec(write(tmp_path / "w.yaml", spec_dict(distill={"epochs": 1, "batch_size": 8, "warmup_steps": 5})))


def test_eval_settings_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="field 'eval.mmlu_n': None is not a number"):
        load_spec(write(tmp_path / "a.yaml", spec_dict(eval={"mmlu_n": None})))
    with pytest.raises(ConfigError, match="field 'eval.mmlu_size': Extra inputs are not permitted"):
        load_spec(write(tmp_path / "b.yaml", spec_dict(eval={"mmlu_size": 3})))


def test_task_path_is_relative_to_the_spec_and_moves_every_key(tmp_path):
    data, task_file = toy_folder(tmp_path)
    d = spec_dict(task="toy/ticket-routing.yaml", data={"path": "toy/data"})
    spec = load_spec(write(tmp_path / "spec.yaml", d))
    assert spec.task == str(task_file.resolve()) and spec.data.path == str(data.resolve())
    assert spec.task_obj.name == "ticket-routing"
    builtin = load_spec(write(tmp_path / "b.yaml", spec_dict()))
    keys = set(unique_nodes(expand(spec)))
    assert not keys & set(unique_nodes(expand(builtin)))  # two tasks share no node
    with pytest.raises(ConfigError, match="field 'task'"):
        load_spec(write(tmp_path / "bad.yaml", spec_dict(task="nope.yaml")))
    # a user task has no built-in data
    with pytest.raises(ConfigError, match="set data.path"):
        load_spec(write(tmp_path / "nodata.yaml", spec_dict(task=str(task_file))))


def test_sweep_folder_keeps_the_task(tmp_path):
    from taskdistill.sweep.runner import register

    _, task_file = toy_folder(tmp_path)
    spec = load_spec(write(tmp_path / "spec.yaml", spec_dict(task="toy/ticket-routing.yaml",
                                                             data={"path": "toy/data"})))
    register(spec, tmp_path / "sw")
    assert (tmp_path / "sw" / "task.yaml").read_bytes() == task_file.read_bytes()  # exact copy
    meta = json.loads((tmp_path / "sw" / "spec.json").read_text())
    assert meta["task_hash"] == spec.task_obj.hash and meta["task_name"] == "ticket-routing"
    other = SweepSpec.model_validate({**spec.to_json(), "task": "finheadlines",
                                      "data": {"name": "finheadlinemix-mini"}})
    with pytest.raises(ConfigError, match="holds results for another task"):
        register(other, tmp_path / "sw")


def test_cli_sweep_plan(tmp_path):
    res = CliRunner().invoke(app, ["sweep", "plan", str(preset_path("quickstart"))])
    assert res.exit_code == 0, res.output
    for kind in KINDS:
        assert kind in res.output
    assert "epochs" in res.output and "192: 24" in res.output
    d = spec_dict()
    d["grid"]["dataset_size"] = [10**6]
    res = CliRunner().invoke(app, ["sweep", "plan", str(write(tmp_path / "s.yaml", d))])
    assert res.exit_code == 2 and "grid.dataset_size" in res.output


def test_plan_counts_what_the_node_cache_holds(tmp_path):
    """Before a run nothing is cached; after it every stage is, and the plan prices nothing left."""
    from taskdistill.sweep.executors import run_sweep

    spec = SweepSpec.model_validate(spec_dict())
    before = plan_sweep(spec)
    assert sum(before.reused.values()) == 0 and before.total_seconds_left == pytest.approx(before.total_seconds)
    res = CliRunner().invoke(app, ["sweep", "plan", str(write(tmp_path / "s.yaml", spec_dict()))])
    assert res.exit_code == 0 and "cached" not in res.output

    run_sweep(spec, tmp_path / "sw", stages="tests.sweep.fake_stages:FakeStages", quiet=True)
    after = plan_sweep(spec)
    assert after.reused == after.counts and after.total_seconds_left == 0 and after.total_seconds > 0
    res = CliRunner().invoke(app, ["sweep", "plan", str(tmp_path / "s.yaml")])
    assert res.exit_code == 0 and "a run computes none" in " ".join(res.output.split())

    # a student deleted once every node using it finished (keep_models: needed) is not computed again ...
    import shutil

    from taskdistill.sweep.runner import node_dir

    nodes = unique_nodes(expand(spec)).values()
    distill = next(n for n in nodes if n.stage == "distill")
    shutil.rmtree(node_dir(distill))
    assert plan_sweep(spec).total_seconds_left == 0
    # ... until a node that needs it is gone too: then both are priced again
    evaluate = next(n for n in nodes if n.stage == "evaluate" and n.input("model").key == distill.key)
    shutil.rmtree(node_dir(evaluate))
    partial = plan_sweep(spec)
    assert partial.reused["distill"] == partial.counts["distill"] - 1
    assert partial.reused["eval"] == partial.counts["eval"] - 1
    # what is left is priced at the time the spec's cached nodes took (milliseconds here), not the cost model
    assert 0 < partial.seconds_left["distill"] < partial.seconds["distill"] / partial.counts["distill"]
    assert any(n.startswith("left to compute: distill priced at the time its") for n in partial.notes)
    res = CliRunner().invoke(app, ["sweep", "plan", str(tmp_path / "s.yaml")])
    assert "a run computes the other 2" in " ".join(res.output.split())
