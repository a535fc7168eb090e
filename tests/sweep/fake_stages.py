"""Placeholder stage implementations for the sweep engine's tests (tests only, never in src/).

They write real files (parquet splits, JSON "checkpoints", evaluation records) so the runner's
caching, relocation, resume and store logic are exercised exactly as with the real stages, but in
milliseconds. Every computation appends a line to ``$TASKDISTILL_HOME/fake_calls.log`` so tests can
count how often each node was really computed. ``FAKE_SLEEP`` slows distillation down (for the
kill -9 test); ``FAKE_FAIL=<supervision>`` makes that supervision's distillation raise.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import pandas as pd

from taskdistill.cache import home
from taskdistill.task import load_task

TASK = load_task("finheadlines")
LABELS = TASK.label_names
coarse = TASK.group


def calls() -> list[dict]:
    f = home() / "fake_calls.log"
    return [json.loads(line) for line in f.read_text().splitlines()] if f.exists() else []


def _log(stage: str, params: dict) -> None:
    with open(home() / "fake_calls.log", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json.dumps({"stage": stage, "params": params, "pid": os.getpid(),
                             "device": os.environ.get("TASKDISTILL_DEVICE")}) + "\n")


def _split(n: int, offset: int) -> pd.DataFrame:
    labels = [LABELS[(i * 7) % len(LABELS)] for i in range(n)]
    return pd.DataFrame({"id": [f"h{offset + i}" for i in range(n)],
                         "headline": [f"Company {offset + i} reports event {lab}" for i, lab in enumerate(labels)],
                         "label": labels, "category": [coarse(lab) for lab in labels],
                         "rationale": ["because" for _ in labels]})


class FakeStages:
    def data(self, params, inputs, out: Path, work: Path):
        _log("data", params)
        for name, n, off in (("train", 200, 0), ("validation", 20, 1000), ("test", 40, 2000)):
            _split(n, off).to_parquet(out / f"{name}.parquet")
        return {"path": str(out), "n_train": 200, "task": params["task"]["definition"]}

    def pool(self, params, inputs, out: Path, work: Path):
        _log("pool", params)
        src = Path(inputs["data"]["path"])
        pd.read_parquet(src / "train.parquet").head(params["max_size"]).to_parquet(out / "train.parquet")
        return {"path": str(out), "n_train": params["max_size"], "task": inputs["data"]["task"]}

    def teacher(self, params, inputs, out: Path, work: Path):
        _log("teacher", params)
        (out / "weights.json").write_text(json.dumps({"base": params["base"]}))
        return {"path": str(out), "params": 1000, "params_nonemb": 800}

    def annotate(self, params, inputs, out: Path, work: Path):
        _log("annotate", params)
        train = pd.read_parquet(Path(inputs["data"]["path"]) / "train.parquet")
        train.assign(teacher_label=train["label"]).to_parquet(out / "annotations.parquet")
        return {"path": str(out)}

    def prune(self, params, inputs, out: Path, work: Path):
        _log("prune", params)
        params_n = round(1000 * params["target"])
        (out / "weights.json").write_text(json.dumps({"params": params_n, "from": inputs["model"]["path"]}))
        return {"path": str(out), "params": params_n, "params_nonemb": round(0.8 * params_n)}

    def distill(self, params, inputs, out: Path, work: Path):
        _log("distill", params)
        time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
        if os.environ.get("FAKE_FAIL") == params["supervision"]:
            raise RuntimeError(f"injected failure for supervision {params['supervision']}")
        student = inputs["student"]
        (out / "weights.json").write_text(json.dumps({**params, "from": student["path"]}))
        return {"path": str(out), "params": student["params"], "params_nonemb": student["params_nonemb"]}

    def evaluate(self, params, inputs, out: Path, work: Path):
        _log("evaluate", params)
        model = inputs["model"]
        n_test = len(pd.read_parquet(Path(inputs["data"]["path"]) / "test.parquet"))
        ratio = model["params"] / 1000
        record = {"indomain": {"macro_f1": 0.5 + 0.4 * ratio, "accuracy": 0.6 + 0.3 * ratio, "nll": 2 - ratio,
                               "brier": 0.5 - 0.2 * ratio, "macro_f1_coarse": 0.6 + 0.3 * ratio, "n": n_test},
                  "mmlu": {"acc": 0.25 + 0.05 * ratio, "acc_stderr": 0.01, "gold_ll_per_char": -1.0 + ratio}}
        (out / "record.json").write_text(json.dumps(record))
        return {"record": str(out / "record.json"), "params": model["params"],
                "params_nonemb": model["params_nonemb"]}
