"""Sweep engine: spec validation, DAG sharing, store, resume after kill -9, failures, executors.

The stages here are the placeholder implementations in ``fake_stages.py`` (real files, milliseconds),
so these tests check the engine itself; ``test_real_tiny.py`` runs the real stages on tiny models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from taskdistill.config import ConfigError
from taskdistill.sweep.dag import expand, unique_nodes
from taskdistill.sweep.executors import plan_workers, run_sweep
from taskdistill.sweep.spec import SweepSpec, load_spec
from taskdistill.sweep.store import Store, load_results
from tests.sweep import fake_stages

REPO = Path(__file__).resolve().parents[2]
STAGES = "tests.sweep.fake_stages:FakeStages"


def spec_dict(**grid) -> dict:
    g = {"dataset_size": [50, 100], "target": [0.79, 0.58], "method": ["logit"],
         "supervision": ["label", "blended"], "schedule": ["iterative"], "seed": [0]}
    g.update(grid)
    return {"name": "t", "grid": g, "teacher": {"base": "tiny:llama"}, "distill": {"steps": 2, "warmup_steps": 0}}


def write_spec(tmp_path: Path, d: dict) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(yaml.safe_dump(d))
    return p


# ---- spec ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["grid"].update(target=[0.5, 1.5]), "grid.target"),
    (lambda d: d["grid"].update(method=["logit", "full"]), "grid.method"),
    (lambda d: d["grid"].update(dataset_size=[0]), "grid.dataset_size"),
    (lambda d: d["grid"].update(targets=[0.5]), "grid.targets"),
    (lambda d: d.update(prune={"calib_n": -1}), "prune.calib_n"),
    (lambda d: d.pop("teacher"), "teacher"),
])
def test_spec_errors_name_file_and_field(tmp_path, mutate, field):
    d = spec_dict()
    mutate(d)
    path = write_spec(tmp_path, d)
    with pytest.raises(ConfigError) as e:
        load_spec(path)
    assert str(path) in str(e.value) and f"field '{field}" in str(e.value)


def test_spec_iterative_steps_must_cover_targets(tmp_path):
    d = spec_dict()
    d["prune"] = {"iterative_steps": [0.79]}
    with pytest.raises(ConfigError, match="missing"):
        load_spec(write_spec(tmp_path, d))


def test_spec_cot_needs_traces(tmp_path):
    d = spec_dict()
    d["annotate"] = {"formats": ["label"]}
    with pytest.raises(ConfigError, match="annotate.formats"):
        load_spec(write_spec(tmp_path, d))


def test_presets_validate():
    for name in ("tiny", "quickstart", "paper"):
        spec = load_spec(REPO / "configs" / f"{name}.yaml")
        assert spec.n_cells() >= 3
    paper = load_spec(REPO / "configs" / "paper.yaml")
    assert paper.grid.target == [0.79, 0.58, 0.37, 0.16] and len(paper.grid.seed) == 3
    assert set(paper.grid.supervision) == {"label", "cot", "blended"}


# ---- DAG ------------------------------------------------------------------------------------------
def test_dag_shares_annotation_and_iterative_prefix():
    spec = SweepSpec.model_validate(spec_dict(schedule=["iterative", "oneshot"], target=[0.79, 0.58, 0.37]))
    cells = expand(spec)
    assert len(cells) == spec.n_cells() == 1 + 2 * 3 * 2 * 2
    nodes = unique_nodes(cells)
    by_stage = Counter(n.stage for n in nodes.values())
    assert by_stage["annotate"] == 1 and by_stage["teacher"] == 1 and by_stage["pool"] == 1

    def tail(**s):
        return next(c for c in cells if all(c.settings[k] == v for k, v in s.items())).node.input("model")

    it79 = tail(dataset_size=50, target=0.79, supervision="label", schedule="iterative")
    it37 = tail(dataset_size=50, target=0.37, supervision="label", schedule="iterative")
    chain37 = {n.key for n in it37.ancestors()}
    assert it79.key in chain37  # the 37% iterative student is pruned from the distilled 79% one
    assert tail(dataset_size=50, target=0.58, supervision="label", schedule="iterative").key in chain37
    assert sum(n.stage == "prune" for n in it37.ancestors()) == 3
    os37 = tail(dataset_size=50, target=0.37, supervision="label", schedule="oneshot")
    assert sum(n.stage == "prune" for n in os37.ancestors()) == 1
    assert os37.params["steps"] == 3 * it37.params["steps"]  # same total budget
    # one-shot to the mildest target is the very same work as the iterative one
    assert tail(dataset_size=50, target=0.79, supervision="label", schedule="oneshot").key == it79.key
    # different data sizes/supervisions do not share students
    assert tail(dataset_size=100, target=0.79, supervision="label", schedule="iterative").key != it79.key
    # every distinct node: 1 data + 1 pool + 1 teacher + 1 annotate; prune/distill per chain step
    assert by_stage["distill"] == 2 * 2 * (3 + 2)  # sizes x sups x (3 iterative steps + 2 extra oneshot)


def test_cell_ids_stable_and_unique():
    spec = SweepSpec.model_validate(spec_dict())
    a, b = expand(spec), expand(SweepSpec.model_validate(spec_dict()))
    assert [c.cell_id for c in a] == [c.cell_id for c in b]
    assert len({c.cell_id for c in a}) == len(a)


# ---- runs -----------------------------------------------------------------------------------------
def test_sequential_run_computes_each_node_once_and_rerun_is_free(tmp_path):
    spec = SweepSpec.model_validate(spec_dict(schedule=["iterative", "oneshot"]))
    counts = run_sweep(spec, tmp_path / "sw", stages=STAGES, quiet=True)
    assert counts == {"done": spec.n_cells(), "skipped": 0, "failed": 0}
    calls = fake_stages.calls()
    per_stage = Counter(c["stage"] for c in calls)
    n_nodes = Counter(n.stage for n in unique_nodes(expand(spec)).values())
    assert per_stage == n_nodes  # nothing computed twice
    assert per_stage["annotate"] == 1
    df = load_results(tmp_path / "sw")
    assert len(df) == spec.n_cells() and df["cell_id"].is_unique
    teacher = df[df.method == "teacher"].iloc[0]
    assert teacher.target == 1.0 and teacher.supervision == "none" and teacher.params_ratio == 1.0
    assert teacher.dataset_size == 200  # the whole train split the teacher was prepared on
    s58 = df[(df.target == 0.58)]
    assert (s58.params_ratio == 0.58).all() and (s58["indomain.macro_f1"] < teacher["indomain.macro_f1"]).all()
    for col in ("indomain.macro_f1", "indomain.nll", "mmlu.acc", "params_ratio_nonemb", "git_commit"):
        assert col in df.columns

    counts = run_sweep(spec, tmp_path / "sw", stages=STAGES, quiet=True)
    assert counts == {"done": 0, "skipped": 0, "failed": 0}
    assert len(fake_stages.calls()) == len(calls)
    # a new sweep folder over the same grid reuses every cached node, computing nothing
    run_sweep(spec, tmp_path / "sw2", stages=STAGES, quiet=True)
    assert len(fake_stages.calls()) == len(calls)
    assert len(load_results(tmp_path / "sw2")) == spec.n_cells()


def test_keep_models_needed_frees_each_student_once_no_unfinished_cell_uses_it(tmp_path, monkeypatch):
    from taskdistill.sweep import runner

    d = spec_dict(schedule=["iterative", "oneshot"], dataset_size=[50])
    d["execution"] = {"keep_models": "needed"}
    spec = SweepSpec.model_validate(d)
    nodes = unique_nodes(expand(spec))
    freed: list[tuple[str, list[str], set[str]]] = []  # (cell, freed keys, keys of every unfinished cell)
    release = runner.release_models

    def spy(store, cell):
        open_keys = {k for c in store.cells() if c["status"] != "done" for k in c["stages"]}
        out = release(store, cell)
        freed.append((cell.cell_id, out, open_keys))
        return out

    monkeypatch.setattr(runner, "release_models", spy)
    counts = run_sweep(spec, tmp_path / "sw", stages=STAGES, quiet=True)
    assert counts == {"done": spec.n_cells(), "skipped": 0, "failed": 0}
    # no student model was ever deleted while an unfinished cell still used it, none twice
    for _, keys, open_keys in freed:
        assert not set(keys) & open_keys
    all_freed = [k for _, keys, _ in freed for k in keys]
    assert len(all_freed) == len(set(all_freed))
    # at the end every prune and distill model is gone, each exactly once; the teacher and the rows stay
    students = {k for k, n in nodes.items() if n.stage in ("prune", "distill")}
    assert set(all_freed) == students
    assert not any((runner.node_dir(nodes[k])).exists() for k in students)
    teacher = next(n for n in nodes.values() if n.stage == "teacher")
    assert runner.read_node(teacher) is not None
    assert len(load_results(tmp_path / "sw")) == spec.n_cells()
    # a model freed early (the first cell's 79 % student) was not recomputed by the later cells
    per_stage = Counter(c["stage"] for c in fake_stages.calls())
    assert per_stage["distill"] == Counter(n.stage for n in nodes.values())["distill"]
    # the rerun computes nothing: done cells need no model
    n_calls = len(fake_stages.calls())
    assert run_sweep(spec, tmp_path / "sw", stages=STAGES, quiet=True) == {"done": 0, "skipped": 0, "failed": 0}
    assert len(fake_stages.calls()) == n_calls


def test_failing_cell_is_recorded_and_others_go_on(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "blended")
    spec = SweepSpec.model_validate(spec_dict())
    counts = run_sweep(spec, tmp_path / "sw", stages=STAGES, quiet=True)
    assert counts["failed"] == 4 and counts["done"] == spec.n_cells() - 4
    store = Store(tmp_path / "sw")
    failed = [c for c in store.cells() if c["status"] == "failed"]
    assert {c["settings"]["supervision"] for c in failed} == {"blended"}
    assert all("injected failure for supervision blended" in c["error"] and "Traceback" in c["error"]
               for c in failed)
    df = load_results(tmp_path / "sw", include_failed=True)
    assert (df.status == "failed").sum() == 4 and df[df.status == "failed"]["error"].str.contains("injected").all()

    from taskdistill.sweep.status import sweep_status

    st = sweep_status(tmp_path / "sw")
    assert st["counts"]["failed"] == 4 and st["counts"]["done"] == spec.n_cells() - 4
    assert st["remaining_nodes"] > 0 and st["eta_seconds"] >= 0

    monkeypatch.delenv("FAKE_FAIL")  # the fault is fixed: a rerun retries only the failed cells
    counts = run_sweep(spec, tmp_path / "sw", stages=STAGES, quiet=True)
    assert counts == {"done": 4, "skipped": 0, "failed": 0}
    assert len(load_results(tmp_path / "sw")) == spec.n_cells()
    assert sweep_status(tmp_path / "sw")["remaining_nodes"] == 0


def _run_cmd(spec_path: Path, sweep: Path) -> list[str]:
    """A sweep run in its own process (the light entry point: no CLI, so it starts fast)."""
    code = ("import sys; from taskdistill.sweep.executors import run_sweep; "
            "from taskdistill.sweep.spec import load_spec; "
            f"run_sweep(load_spec(sys.argv[1]), sys.argv[2], stages={STAGES!r}, quiet=True)")
    return [sys.executable, "-c", code, str(spec_path), str(sweep)]


def test_kill_9_mid_run_then_resume_has_all_rows_no_duplicates(tmp_path):
    spec_path = write_spec(tmp_path, spec_dict(schedule=["iterative", "oneshot"]))
    spec = load_spec(spec_path)
    sweep = tmp_path / "sw"
    env = {**os.environ, "FAKE_SLEEP": "0.4", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(_run_cmd(spec_path, sweep), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    n_done = 0
    while time.time() < deadline:
        if (sweep / "results.sqlite").exists():
            n_done = sum(c["status"] == "done" for c in Store(sweep).cells())
            if n_done >= 3:
                break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 3 <= n_done < spec.n_cells()
    cells = Store(sweep).cells()
    assert any(c["status"] != "done" for c in cells)

    from taskdistill.sweep.status import sweep_status

    st = sweep_status(sweep)
    assert st["counts"]["interrupted"] + st["counts"]["pending"] + st["counts"]["done"] == spec.n_cells()

    rc = subprocess.run(_run_cmd(spec_path, sweep), cwd=REPO, env={**env, "FAKE_SLEEP": "0"},
                        capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr
    df = load_results(sweep)
    assert len(df) == spec.n_cells() and df["cell_id"].is_unique
    settings = df[["dataset_size", "target", "method", "supervision", "schedule", "seed"]].astype(str)
    assert not settings.duplicated().any()
    # no node was finished twice (an interrupted node may be *started* twice, never stored twice)
    per_stage = Counter(c["stage"] for c in fake_stages.calls())
    assert per_stage["annotate"] == 1 and per_stage["teacher"] == 1
    assert Counter(n.stage for n in unique_nodes(expand(spec)).values())["distill"] <= per_stage["distill"] \
        <= Counter(n.stage for n in unique_nodes(expand(spec)).values())["distill"] + 1
    # the killed run's temporary folders (.<node>.*.tmp, work folders) are gone after the resume
    home = Path(os.environ["TASKDISTILL_HOME"])
    left = [p for root in (home, sweep) for p in root.rglob("*") if p.name.endswith(".tmp")
            or (p.name.startswith(".work") and p.is_dir())]
    assert not left, left


def test_local_worker_processes(tmp_path):
    spec = SweepSpec.model_validate(spec_dict(dataset_size=[50]))
    counts = run_sweep(spec, tmp_path / "sw", stages=STAGES, executor="local", workers=2, memory_gb=64,
                       quiet=True, device="cpu")
    assert counts["done"] == spec.n_cells()
    # --device reaches every stage, in this process and in the workers, and is gone after the run
    assert {c["device"] for c in fake_stages.calls()} == {"cpu"} and "TASKDISTILL_DEVICE" not in os.environ
    per_stage = Counter(c["stage"] for c in fake_stages.calls())
    assert per_stage == Counter(n.stage for n in unique_nodes(expand(spec)).values())
    assert len(load_results(tmp_path / "sw")) == spec.n_cells()
    assert Store(tmp_path / "sw", create=False).get_meta("workers") == 2  # `sweep status` divides its ETA by it
    # the nodes every cell needs ran first, in this process (with both workers' threads); the rest in workers
    from taskdistill.sweep.executors import shared_nodes

    shared = {n.stage for n in shared_nodes(expand(spec))}  # what the students share (the teacher's row: less)
    assert {"data", "teacher", "annotate"} <= shared and not shared & {"distill", "evaluate"}
    here = {c["stage"] for c in fake_stages.calls() if c["pid"] == os.getpid()}
    assert here == shared
    assert {c["stage"] for c in fake_stages.calls() if c["pid"] != os.getpid()} >= {"distill", "evaluate"}


def test_execution_device_is_not_part_of_any_key(tmp_path):
    """Where a sweep runs is how, not what: the same spec on the CPU and on a GPU shares every node (each
    row records its device), and a folder run on one resumes on the other."""
    keys = {d: sorted(unique_nodes(expand(SweepSpec.model_validate({**spec_dict(), "execution": {"device": d}}))))
            for d in ("auto", "cpu", "cuda:1")}
    assert keys["auto"] == keys["cpu"] == keys["cuda:1"]
    from taskdistill.sweep.runner import DEVICE_ENV
    from taskdistill.sweep.stages import RealStages

    os.environ[DEVICE_ENV] = "cpu"
    try:
        assert RealStages(quiet=True).device == "cpu" and RealStages(quiet=True, device="cuda").device == "cuda"
    finally:
        del os.environ[DEVICE_ENV]
    assert RealStages(quiet=True).device == "auto"


def test_plan_workers_bounded_by_memory():
    spec = SweepSpec.model_validate(spec_dict())
    assert plan_workers(spec, 8, memory_gb=0.1) == 1
    assert plan_workers(spec, 2, memory_gb=1000) == 2


def test_ray_two_cells(tmp_path):
    pytest.importorskip("ray")
    d = spec_dict(dataset_size=[50], target=[0.79], supervision=["label", "blended"])
    d["teacher"]["evaluate"] = False
    spec = SweepSpec.model_validate(d)
    assert spec.n_cells() == 2
    counts = run_sweep(spec, tmp_path / "sw", stages=STAGES, executor="ray", workers=2, quiet=True)
    assert counts == {"done": 2, "skipped": 0, "failed": 0}
    df = load_results(tmp_path / "sw")
    assert sorted(df.supervision) == ["blended", "label"]
    assert Counter(c["stage"] for c in fake_stages.calls())["annotate"] == 1


def test_cli_status_and_export(tmp_path):
    from typer.testing import CliRunner

    from taskdistill.cli import app

    spec_path = write_spec(tmp_path, spec_dict(dataset_size=[50], target=[0.79]))
    runner = CliRunner()
    r = runner.invoke(app, ["sweep", "run", str(spec_path), "--out", str(tmp_path / "sw"), "--stages", STAGES])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["sweep", "status", str(tmp_path / "sw")])
    assert r.exit_code == 0 and "3 cells: done 3" in r.output, r.output
    r = runner.invoke(app, ["sweep", "export", str(tmp_path / "sw"), "--out", str(tmp_path / "r.csv")])
    assert r.exit_code == 0, r.output
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "r.csv")) == 3
    r = runner.invoke(app, ["sweep", "export", str(tmp_path / "sw"), "--out", str(tmp_path / "r.parquet")])
    assert len(pd.read_parquet(tmp_path / "r.parquet")) == 3
    r = runner.invoke(app, ["sweep", "status", str(tmp_path / "nope")])
    assert r.exit_code != 0 and "not a sweep folder" in r.output


def test_cell_queue_skips_cells_that_would_wait_on_a_running_cells_node():
    from taskdistill.sweep.executors import CellQueue, shared_nodes

    spec = SweepSpec.model_validate(spec_dict(dataset_size=[50], target=[0.79, 0.58, 0.37],
                                              schedule=["iterative", "oneshot"]))
    cells = [c for c in expand(spec) if c.settings["method"] != "teacher"]
    done: set[str] = {n.key for n in shared_nodes(cells)}  # data, teacher, annotations: computed first
    queue = CellQueue(cells, is_done=lambda n: n.key in done)
    order, running = [], []
    while queue.waiting or running:
        while len(running) < 2 and (cell := queue.take()) is not None:
            # never two running cells that need the same unfinished node
            for other in running:
                shared = {n.key for n in cell.node.ancestors()} & {n.key for n in other.node.ancestors()}
                assert shared <= done, (cell.label(), other.label())
            running.append(cell)
            order.append(cell)
        assert running, "a queue with nothing running must hand out a cell"
        first = running.pop(0)
        done |= {n.key for n in first.node.ancestors()}
        queue.finish(first.cell_id)
    assert sorted(c.cell_id for c in order) == sorted(c.cell_id for c in cells)
    # the 58% iterative student waits for the 79% one: a later, independent cell ran beside the 79% one
    labels = [c.label() for c in order]
    assert labels.index(cells[1].label()) > 1
    assert order[1].cell_id != cells[1].cell_id

