"""Outputs tied to their inputs: one writer per sweep folder, a student refuses another teacher's
annotations by default, and a model's recorded hash depends on its weights and config only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml
from typer.testing import CliRunner

from taskdistill.cli import app

REPO = Path(__file__).resolve().parents[2]
FAKE = "tests.sweep.fake_stages:FakeStages"


def test_two_concurrent_sweep_runs_run_each_cell_once(tmp_path):
    from taskdistill.sweep.spec import load_spec
    from taskdistill.sweep.store import Store, load_results
    from tests.sweep import fake_stages

    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump({
        "name": "conc", "grid": {"dataset_size": [50, 100], "target": [0.79, 0.58]},
        "teacher": {"base": "tiny:llama"}, "distill": {"steps": 2, "warmup_steps": 0}}))
    sweep = tmp_path / "sw"
    cmd = [sys.executable, "-c", "from taskdistill.cli import app; app()", "sweep", "run", str(spec_path),
           "--out", str(sweep), "--stages", FAKE]
    env = {**os.environ, "FAKE_SLEEP": "0.3", "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (sweep / "results.sqlite").exists() and time.time() < deadline:  # the first one is running
        time.sleep(0.02)
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    out1, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, err1
    # the second was refused with one line naming the holder (or, if the first had already finished,
    # found nothing left to do)
    if second.returncode == 2:
        assert "error:" in second.stderr and f"pid {first.pid}" in second.stderr, second.stderr
        assert "is writing this folder" in second.stderr
    else:
        assert second.returncode == 0 and "this run: 0 done" in second.stdout, (second.stdout, second.stderr)
    spec = load_spec(spec_path)
    df = load_results(sweep)
    assert len(df) == spec.n_cells() and df["cell_id"].is_unique
    assert all(c["status"] == "done" for c in Store(sweep).cells())
    per_stage = Counter(c["stage"] for c in fake_stages.calls())
    assert per_stage["evaluate"] == spec.n_cells() and per_stage["teacher"] == 1


def test_distill_defaults_to_the_students_teacher(tmp_path, clean_ckpt, tiny_dataset):
    from taskdistill.models import load_model
    from taskdistill.targets.cache import write_topk_cache
    from taskdistill.targets.examples import build_examples
    from taskdistill.task import load_task
    from taskdistill.teacher.identity import model_hash

    student = tmp_path / "student"
    r = CliRunner().invoke(app, ["--quiet", "prune", "--model", str(clean_ckpt), "--target", "0.6", "--importance",
                                 "magnitude", "--out", str(student)])
    assert r.exit_code == 0, r.output
    report = json.loads((student / "prune_report.json").read_text())
    assert report["teacher_hash"] == model_hash(clean_ckpt)
    # a top-k cache written by another teacher
    other, tok = load_model("tiny:qwen2")
    task = load_task("finheadlines")
    import pandas as pd

    df = pd.read_parquet(tiny_dataset / "train.parquet").iloc[:8]
    ex = build_examples(tok, task, df, fmt="label", max_length=256)
    write_topk_cache(other, tok, ex, tmp_path / "cache", k=4, quiet=True, meta={"teacher_hash": "0ther7eacher"})
    args = ["distill", "--student", str(student), "--data", str(tiny_dataset / "train.parquet"), "--cache",
            str(tmp_path / "cache"), "--steps", "1", "--warmup-steps", "0", "--threads", "1", "--out",
            str(tmp_path / "run")]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, (r.output, r.exception)
    assert "0ther7eacher" in r.output and report["teacher_hash"] in r.output and "Traceback" not in r.output
    assert not (tmp_path / "run").exists()


def test_recorded_model_hash_ignores_reports(tmp_path, clean_ckpt):
    from taskdistill.evaluate.record import model_fingerprint
    from taskdistill.models import load_model

    d = tmp_path / "teacher"
    shutil.copytree(clean_ckpt, d)
    model, _ = load_model(d)
    h1 = model_fingerprint(model)
    (d / "teacher_report.json").write_text(json.dumps({"timings": {"train_s": time.time()}}))
    (d / "train_log.jsonl").write_text("{}\n")
    assert model_fingerprint(model) == h1  # a rerun writes other timings: same model, same hash
    cfg = json.loads((d / "config.json").read_text())
    cfg["rms_norm_eps"] = 1e-3
    (d / "config.json").write_text(json.dumps(cfg))
    assert model_fingerprint(model) != h1  # the config is part of the model
