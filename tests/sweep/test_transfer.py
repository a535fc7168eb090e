"""Transfer sets end to end on a tiny random Llama: every model of the sweep (teacher and student) is
scored on a made-up coarse-labelled CSV (tests/fixtures/transfer-tiny.csv, invented headlines), the
results table gets ``transfer.<name>.*`` columns, the report shows them beside the synthetic score,
and listing a transfer set changes no existing node or cell key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from taskdistill.config import ConfigError
from taskdistill.sweep.dag import expand, unique_nodes
from taskdistill.sweep.spec import SweepSpec, load_spec, preset_path
from tests.sweep.test_real_tiny import make_split
from tests.sweep.test_task_override import imported  # noqa: F401  (fixture: a user's task and its data)

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "transfer-tiny.csv"


def _tiny_raw(tmp_path: Path) -> dict:
    d = tmp_path / "ds"
    d.mkdir()
    make_split(40, 0, "tr").to_parquet(d / "train.parquet", index=False)
    make_split(8, 3, "va").to_parquet(d / "validation.parquet", index=False)
    make_split(10, 7, "te").to_parquet(d / "test.parquet", index=False)
    raw = load_spec(preset_path("tiny")).to_json()
    raw["data"]["path"] = str(d)
    raw["grid"].update(dataset_size=[24], target=[0.79], schedule=["iterative"])
    raw["eval"] = {"limit": 8, "mmlu_n": 0, "efficiency": False}
    raw["teacher"]["prepare"]["eval_limit"] = 4
    return raw


def _run_tiny(raw: dict, sw: Path):
    """Run the spec ``raw`` (single-threaded) into ``sw``; no cell may fail. Returns (spec, results table)."""
    from taskdistill.sweep.executors import run_sweep
    from taskdistill.sweep.store import Store, load_results

    raw["execution"]["threads"] = 1
    spec = SweepSpec.model_validate(raw)
    counts = run_sweep(spec, sw, quiet=True)
    assert counts["failed"] == 0, [c["error"] for c in Store(sw).cells() if c["status"] == "failed"]
    return spec, load_results(sw)


def _write(tmp_path: Path, raw: dict, name: str = "spec.yaml") -> Path:
    import yaml

    p = tmp_path / name
    p.write_text(yaml.safe_dump(raw))
    return p


def test_transfer_sets_change_no_existing_key(tmp_path, monkeypatch):
    raw = _tiny_raw(tmp_path)
    plain = load_spec(_write(tmp_path, raw, "a.yaml"))
    raw["eval"]["transfer"] = [{"name": "fixture", "split": str(FIXTURE), "task": "finheadlines-coarse"},
                               {"name": "gone", "split": "nowhere/missing.csv"}]
    monkeypatch.chdir(tmp_path)
    with_sets = load_spec(_write(tmp_path, raw, "b.yaml"))
    assert [s.name for s in with_sets.transfer_sets] == ["fixture", "gone"]
    # a relative split is read against the working directory and stored absolute
    assert with_sets.transfer_sets[1].split == str(tmp_path / "nowhere" / "missing.csv")
    a, b = expand(plain), expand(with_sets)
    assert sorted(unique_nodes(a)) == sorted(unique_nodes(b))
    assert [c.cell_id for c in a] == [c.cell_id for c in b]
    from taskdistill.sweep.plan import plan_sweep

    notes = plan_sweep(with_sets).notes
    assert "transfer set fixture: 2 models x ~26 rows" in " ".join(notes)
    assert f"transfer set gone: no file at {tmp_path / 'nowhere' / 'missing.csv'}" in " ".join(notes)


def test_missing_required_transfer_set_is_one_line_error(tmp_path, monkeypatch):
    raw = _tiny_raw(tmp_path)
    raw["eval"]["transfer"] = [{"name": "real", "split": "no/such.csv", "required": True}]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"eval\.transfer\.0\.split.*no file at .*no/such\.csv"):
        load_spec(_write(tmp_path, raw))
    raw["eval"]["transfer"] = [{"name": "real", "split": str(FIXTURE), "task": "no-such-task"}]
    with pytest.raises(ConfigError, match=r"eval\.transfer\.0\.task"):
        load_spec(_write(tmp_path, raw))
    raw["eval"]["transfer"] = [{"name": "bad name", "split": str(FIXTURE)}]
    with pytest.raises(ConfigError, match=r"eval\.transfer\.0\.name"):
        load_spec(_write(tmp_path, raw))


def test_preset_on_another_task_drops_transfer_sets_that_do_not_fit(imported):  # noqa: F811
    yaml_path, data = imported
    spec = load_spec(preset_path("quickstart"), task=str(yaml_path), data=str(data))
    assert spec.transfer_sets == [] and "transfer sets real-dev skipped" in spec.description


def test_bootstrap_stderr_matches_binomial_scale():
    from taskdistill.evaluate.transfer import bootstrap_macro_f1_stderr

    rng = np.random.default_rng(1)
    gold = rng.integers(0, 2, 400)
    pred = np.where(rng.random(400) < 0.8, gold, 1 - gold)  # 80% right, two balanced classes
    se = bootstrap_macro_f1_stderr(gold, pred, 2)
    assert 0.5 * np.sqrt(0.8 * 0.2 / 400) < se < 2 * np.sqrt(0.8 * 0.2 / 400)
    assert bootstrap_macro_f1_stderr(gold, gold, 2) == 0.0


def test_transfer_columns_and_report_on_tiny_llama(tmp_path, monkeypatch):
    """~30 s: a tiny teacher and one student, each scored on the fixture; the report shows both scores."""
    from taskdistill.report import build_report
    from taskdistill.sweep.runner import read_node
    from taskdistill.sweep.transfer import run_transfer, transfer_node

    raw = _tiny_raw(tmp_path)
    raw["eval"]["transfer"] = [{"name": "fixture", "split": str(FIXTURE), "task": "finheadlines-coarse"},
                               {"name": "gone", "split": str(tmp_path / "missing.csv")}]
    # the student's model leaves the cache as soon as its cell is done: it is scored inside the cell
    raw["execution"] = {**raw.get("execution", {}), "keep_models": "needed"}
    sw = tmp_path / "sw"
    import taskdistill.sweep.transfer as transfer_mod

    # no pass after the cells: the scores made inside each cell are in the table (an export mid-run)
    with monkeypatch.context() as m:
        m.setattr(transfer_mod, "run_transfer", lambda *a, **k: None)
        spec, df = _run_tiny(raw, sw)
    assert len(df) == 2
    student = expand(spec)[-1].node.input("model")
    assert student.stage == "distill" and read_node(student) is None
    for col in ("macro_f1", "accuracy", "macro_f1_stderr", "accuracy_stderr", "n"):
        vals = df[f"transfer.fixture.{col}"]
        assert vals.notna().all(), col
    assert (df["transfer.fixture.n"] == 26).all()
    assert ((df["transfer.fixture.macro_f1"] >= 0) & (df["transfer.fixture.macro_f1"] <= 1)).all()
    assert not any(c.startswith("transfer.gone.") for c in df.columns)
    meta = {m["name"]: m for m in df.attrs["transfer"]}
    assert meta["fixture"]["found"] and not meta["gone"]["found"]

    # each score is a cached node keyed by the file's content, not its path: a second pass computes nothing
    teacher_cell = expand(spec)[0]
    from taskdistill.cache import file_hash

    node = transfer_node(spec, spec.transfer_sets[0], file_hash(FIXTURE), teacher_cell.node.input("model"))
    rec = read_node(node)
    assert rec is not None and rec["task"] == "finheadlines-coarse" and rec["model_task"] == "finheadlines"
    assert json.loads(json.dumps(rec))["stderr_method"].startswith("bootstrap")
    again = run_transfer(spec, sw, "taskdistill.sweep.stages:RealStages")
    assert again["scored"] == 0 and again["cached"] == 2

    html, md = build_report(df, None, tmp_path / "report", fit_error="test", task=spec.task_obj)
    text = md.read_text()
    assert "transfer macro-F1 (fixture)" in text
    assert f"no transfer set found at {tmp_path / 'missing.csv'}" in text
    t = df[df.method == "teacher"].iloc[0]
    assert f"{t['transfer.fixture.macro_f1']:.3f}" in text
    assert "transfer macro-F1 (fixture)" in html.read_text()

    # the exported table carries its sets beside it: a report built from the file shows the same comparison
    from typer.testing import CliRunner

    from taskdistill.cli import app
    from taskdistill.scaling.table import read_results

    pub = tmp_path / "pub"
    pub.mkdir()
    res = CliRunner().invoke(app, ["sweep", "export", str(sw), "--out", str(pub / "results.csv")])
    assert res.exit_code == 0, res.output
    assert {m["name"] for m in json.loads((pub / "transfer_sets.json").read_text())["sets"]} == {"fixture", "gone"}
    comp = {s["stage"]: s for s in json.loads((pub / "compute.json").read_text())["stages"]}
    assert {k: comp["transfer"][k] for k in ("nodes", "uses", "computed")} == {"nodes": 2, "uses": 2, "computed": 2}
    _, md2 = build_report(read_results(pub / "results.csv"), None, tmp_path / "report2", fit_error="test",
                          task=spec.task_obj)
    text2 = md2.read_text()
    assert "transfer macro-F1 (fixture)" in text2 and f"{t['transfer.fixture.macro_f1']:.3f}" in text2
    assert f"no transfer set found at {tmp_path / 'missing.csv'}" in text2
