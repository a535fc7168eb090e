"""``sweep status``: the ETA weighs each remaining node by its work, measured per stage."""

from __future__ import annotations

import pytest

from taskdistill.sweep.runner import register
from taskdistill.sweep.spec import SweepSpec
from taskdistill.sweep.status import sweep_status
from tests.sweep.test_engine import spec_dict


def _distill_nodes(cells) -> dict[int, object]:
    return {c.settings["dataset_size"]: n for c in cells for n in c.node.ancestors() if n.stage == "distill"}


def test_eta_scales_a_distillation_by_its_examples(tmp_path):
    d = spec_dict(dataset_size=[64, 256], target=[0.79], supervision=["label"])
    d["distill"] = {"epochs": 1, "warmup_steps": 0, "batch_size": 8}
    spec = SweepSpec.model_validate(d)
    store, cells = register(spec, tmp_path / "sw")
    distill = _distill_nodes(cells)
    assert distill[256].params["steps"] == 4 * distill[64].params["steps"]
    store.add_node_time(distill[64].key, "distill", 10.0, 9.0)

    st = sweep_status(tmp_path / "sw")
    # every other stage is unmeasured (named, not guessed); the D = 256 distillation does 4x the work of the
    # measured D = 64 one, so it counts 40 s, not the stage's mean of 10 s
    assert st["eta_seconds"] == pytest.approx(40.0)
    assert {"data", "teacher", "evaluate"} <= set(st["eta_unmeasured_stages"])
    assert st["workers"] == 1 and st["eta_wall_seconds"] == pytest.approx(40.0)
    store.set_meta("workers", 2)  # what `sweep run` records: the stage runs overlap on two workers
    assert sweep_status(tmp_path / "sw")["eta_wall_seconds"] == pytest.approx(20.0)


def test_eta_falls_back_on_stage_means_when_the_spec_cannot_be_rebuilt(tmp_path):
    d = spec_dict(dataset_size=[64, 256], target=[0.79], supervision=["label"])
    d["distill"] = {"epochs": 1, "warmup_steps": 0, "batch_size": 8}
    spec = SweepSpec.model_validate(d)
    store, cells = register(spec, tmp_path / "sw")
    store.add_node_time(_distill_nodes(cells)[64].key, "distill", 10.0, 9.0)
    store.set_meta("spec", {"name": "broken"})  # not a valid spec any more

    assert sweep_status(tmp_path / "sw")["eta_seconds"] == pytest.approx(10.0)
