"""The real stage implementations the sweep wires together (data, teacher, annotate, prune, distill,
evaluate). Each method takes the node's settings, its inputs' results and a fresh output folder, does
the work through the owning stage's public API, and returns a small JSON-able result (paths + sizes).

Where a stage already caches by content (dataset generation, teacher preparation, annotations,
importance scores), the node only records the path that stage returned; the node's own key still
decides when the work is shared. The task travels with the data: the data node's settings hold it,
the data and pool stages hand it on in their results, and every stage rebuilds it with ``task_of``. Pruning folds the "importance" step in: ``prune_model`` computes the
importance scores of its input model through ``compute_importance``, which caches them by model and
calibration texts, so the scores of the teacher are computed once for every chain that starts there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from taskdistill.sweep.executors import QUIET_ENV  # noqa: F401  (re-exported for the main job)
from taskdistill.sweep.runner import DEVICE_ENV, THREADS_ENV
from taskdistill.task import DEFAULT_TASK, Task

SPLITS = ("train", "validation", "test")


class StageError(RuntimeError):
    """A stage input that cannot be used (the message names the file / setting)."""


def nested_order(labels: list[str], seed: int) -> np.ndarray:
    """Row order whose every prefix is (close to) stratified by label.

    Each class is shuffled, and its i-th row gets the key ``(i + u) / n_class`` (``u`` uniform), so
    sorting by key interleaves the classes in proportion to their size. Smaller dataset sizes are
    prefixes of larger ones: one annotation pass over the largest subset serves every size, and the
    data axis of the scaling fits varies only the amount of data, not which data."""
    rng = np.random.default_rng(seed)
    labels_arr = np.asarray(labels)
    keys = np.empty(len(labels_arr))
    for lab in np.unique(labels_arr):
        idx = np.flatnonzero(labels_arr == lab)
        rng.shuffle(idx)
        keys[idx] = (np.arange(len(idx)) + rng.uniform(size=len(idx))) / len(idx)
    return np.argsort(keys, kind="stable")


def param_counts(model_dir: str | Path) -> tuple[int, int]:
    """(total, non-embedding) parameters of a checkpoint, counted on the meta device (no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from taskdistill.models.arch import count_params

    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return count_params(model), count_params(model, non_embedding=True)


def given(model, raw: dict) -> dict[str, Any]:
    """``raw`` validated by the config ``model``, as keyword arguments: only the fields ``raw`` names,
    as typed values (a node's settings hold what the spec gave; the defaults are the function's own)."""
    cfg = model.model_validate(raw)
    return {k: getattr(cfg, k) for k in cfg.model_fields_set}


def task_of(inputs: dict) -> Task:
    """The task of a node, from its data input (the data or pool node's result)."""
    return Task.model_validate(inputs["data"]["task"])


def default_dataset(task: Task, name: str, quiet: bool) -> Path:
    """The built-in task's dataset: the generated ``name`` for finheadlines, the derived copy for a task
    derived from it (e.g. finheadlines-coarse: label := the parent label's group)."""
    from taskdistill.data.default import default_dataset, ensure_dataset

    if task.derive is None and task.name == DEFAULT_TASK:
        return Path(ensure_dataset(name, quiet=quiet))
    return Path(default_dataset(task, quiet=quiet))


def check_split(path: Path, task: Task) -> None:
    """A split holds the task's input column and only the task's labels (one line naming file/row)."""
    import pandas as pd

    df = pd.read_parquet(path, columns=None)
    for col in (task.input_field, "label"):
        if col not in df.columns:
            raise StageError(f"{path}: no {col!r} column (task {task.name!r} reads its text from "
                             f"{task.input_field!r}); columns: {list(df.columns)}")
    known = set(task.label_names)
    bad = [(i, v) for i, v in enumerate(df["label"].tolist()) if v not in known]
    if bad:
        i, v = bad[0]
        raise StageError(f"{path}: row {i} field 'label' = {v!r} is not a label of task {task.name!r} "
                         f"({len(bad)} such rows)")


def _read_train(path: Path):
    """The train split's rows as stored (every column, unchanged: the pool copies them on)."""
    from taskdistill.data.loader import read_table, split_file

    return read_table(split_file(path, "train"))[0]


class RealStages:
    """The stage functions ``taskdistill run`` / ``sweep run`` use."""

    def __init__(self, quiet: bool | None = None, device: str | None = None):
        self.quiet = bool(int(os.environ.get(QUIET_ENV, "0"))) if quiet is None else quiet
        # where the models run (execution.device, handed to the workers by the executors); not in any key
        self.device = device or os.environ.get(DEVICE_ENV) or "auto"
        threads = os.environ.get(THREADS_ENV)
        if threads:
            import torch

            torch.set_num_threads(int(threads))

    # -- data ------------------------------------------------------------------------------------
    def data(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        task = Task.model_validate(params["task"]["definition"])
        if params.get("path"):
            path = Path(params["path"]).expanduser().resolve()
            missing = [s for s in SPLITS if not (path / f"{s}.parquet").is_file()]
            if missing:
                raise StageError(f"data.path {path}: missing {', '.join(s + '.parquet' for s in missing)}")
            from taskdistill.data.taskfile import folder_task

            try:
                folder_task(path, task)  # the folder's task.yaml, when present, must be this task
            except ValueError as exc:
                raise StageError(str(exc)) from exc
            for split in SPLITS:
                check_split(path / f"{split}.parquet", task)
        else:
            path = default_dataset(task, params["name"], self.quiet)
        # the sweep's task, handed on to every stage through the data input
        return {"path": str(path), "n_train": len(_read_train(path)), "task": task.model_dump(mode="json")}

    def pool(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        """The largest training subset, in nested stratified order; validation/test copied as-is."""
        src = Path(inputs["data"]["path"])
        train = _read_train(src)
        n = params["max_size"]
        if n > len(train):
            raise StageError(f"grid.dataset_size {n} exceeds the {len(train)} train rows of {src}")
        order = nested_order(train["label"].astype(str).tolist(), params["seed"])
        train.iloc[order[:n]].reset_index(drop=True).to_parquet(out / "train.parquet", index=False)
        for split in ("validation", "test"):
            shutil.copy2(src / f"{split}.parquet", out / f"{split}.parquet")
        return {"path": str(out), "n_train": n, "task": inputs["data"].get("task")}

    # -- teacher ---------------------------------------------------------------------------------
    def teacher(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        from taskdistill.teacher.config import TeacherConfig
        from taskdistill.teacher.prepare import prepare_teacher

        cfg = TeacherConfig.model_validate(params["prepare"])
        path = prepare_teacher(params["base"], inputs["data"]["path"], cfg, task=task_of(inputs), quiet=self.quiet,
                               device=self.device)
        total, nonemb = param_counts(path)
        return {"path": str(path), "params": total, "params_nonemb": nonemb}

    def annotate(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        from taskdistill.teacher.annotate import annotate
        from taskdistill.teacher.config import AnnotateOptions

        options = given(AnnotateOptions, params["options"])
        # The pool is a reordered subset of the data the teacher was prepared on, so its hash differs
        # from the teacher's training data by construction.
        path = annotate(inputs["teacher"]["path"], inputs["data"]["path"], k=params["k"],
                        formats=tuple(params["formats"]), task=task_of(inputs), quiet=self.quiet,
                        allow_other_data=True, device=self.device, **options)
        return {"path": str(path)}

    # -- prune -----------------------------------------------------------------------------------
    def prune(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        from taskdistill.models import load_model
        from taskdistill.prune import prune_model, save_pruned
        from taskdistill.prune.calib import calibration_texts
        from taskdistill.prune.config import PruneOptions

        task = task_of(inputs)
        model, tok = load_model(inputs["model"]["path"], quiet=self.quiet, device=self.device)
        texts = calibration_texts(tok, task, Path(inputs["data"]["path"]) / "train.parquet", n=params["calib_n"])
        new, report = prune_model(model, tok, params["target"], calib_texts=texts, strategy=params["strategy"],
                                  method=params["method"], reference_params=inputs["teacher"]["params"],
                                  progress=not self.quiet, task=task, **given(PruneOptions, params["options"]))
        report["sweep_input"] = inputs["model"]["path"]
        dest = save_pruned(new, tok, out / "model", report)
        return {"path": str(dest), "params": int(report["params_total"]),
                "params_nonemb": int(report["params_non_embedding"]),
                "fraction": float(report["fraction_of_reference"])}

    # -- distill ---------------------------------------------------------------------------------
    def distill(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        from taskdistill.distill.config import DistillConfig
        from taskdistill.distill.trainer import train
        from taskdistill.models import load_model
        from taskdistill.targets import load_annotations

        cfg = DistillConfig(**{**params["config"], "method": params["method"],
                               "supervision": params["supervision"], "seed": params["seed"],
                               "steps": params["steps"]})
        model, tok = load_model(inputs["student"]["path"], quiet=self.quiet)
        ann = load_annotations(inputs["annotations"]["path"], task=task_of(inputs))
        pool_train = _read_train(Path(inputs["data"]["path"]))
        keep = set(pool_train["id"].astype(str).head(params["dataset_size"]))
        examples, cache = ann.training_set(tok, cfg.supervision, label_mix=cfg.label_mix, ids=keep)
        if not examples or (cfg.needs_traces and not any(ex.has_trace for ex in examples)):
            raise StageError(f"no {cfg.supervision} training examples for dataset_size "
                             f"{params['dataset_size']} in {ann.dir} (were all traces dropped by the "
                             "trace policy?)")
        if cfg.needs_cache and cache is None:
            raise StageError(f"{ann.dir}: no teacher top-k cache for {cfg.supervision!r} supervision")
        cache = cache if cfg.needs_cache else None
        # ``work`` is stable per node (not the node's temporary folder), so the trainer's own
        # checkpoints let a killed distillation resume mid-run.
        final = train(model, tok, examples, cfg, work, cache=cache, quiet=self.quiet, task=task_of(inputs),
                      device=self.device)
        shutil.move(str(final), str(out / "model"))
        for f in ("train_log.jsonl", "run.json"):
            if (work / f).is_file():
                shutil.copy2(work / f, out / f)
        total, nonemb = param_counts(out / "model")
        return {"path": str(out / "model"), "params": total, "params_nonemb": nonemb,
                "n_examples": len(examples)}

    # -- evaluate --------------------------------------------------------------------------------
    def evaluate(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        import json

        from taskdistill.evaluate.config import EvalConfig
        from taskdistill.evaluate.record import evaluate_model

        model_dir = inputs["model"]["path"]
        split = Path(inputs["data"]["path"]) / "test.parquet"
        record = evaluate_model(model_dir, split, task=task_of(inputs), progress=not self.quiet,
                                device=self.device, **given(EvalConfig, params["eval"]))
        (out / "record.json").write_text(json.dumps(record, indent=1, default=str))
        total, nonemb = param_counts(model_dir)
        return {"record": str(out / "record.json"), "params": total, "params_nonemb": nonemb}

    def transfer(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        """The model scored on a transfer set (``sweep/transfer.py`` adds the file's ``path``): the
        transfer columns, with the file hash checked against the node's key."""
        from taskdistill.cache import file_hash
        from taskdistill.evaluate.transfer import score_transfer

        model_dir = inputs["model"]["path"]
        if file_hash(params["path"]) != params["split_hash"]:
            raise StageError(f"{params['path']}: changed while the sweep ran; rerun to score the new file")
        task = Task.model_validate(params["task"]["definition"])
        model_task = Task.model_validate(params["model_task"]["definition"])
        return score_transfer(model_dir, params["path"], task, model_task, batch_size=params["batch_size"],
                              progress=not self.quiet, device=self.device)

