"""Transfer sets: score a model on another labelled file (say, real headlines) beside its synthetic score.

A sweep spec lists them under ``eval.transfer``::

    eval:
      transfer:
        - {name: real-dev, split: ../shared/data/real-headlines-dev.csv, task: finheadlines-coarse,
           required: false}

``split`` is a CSV / JSONL / parquet file with the task's input column and ``label``; a relative path
is read against the current working directory (where ``taskdistill run`` is started), not against the
spec file, so a packaged preset can point next to the repository. ``task`` is the task the file is
labelled for (default: the sweep's task); when it is another task it must be derived from the sweep's
task (``derive:``), and the model's probabilities over its own labels are summed per derived label
(the coarse scoring of ``taskdistill eval --model-task``). ``required: true`` makes a missing file an
error when the spec is loaded; ``required: false`` skips the set and the report says where it looked.

Every model of the sweep (the teacher and each student) is scored on every set found; the results
table gets ``transfer.<name>.macro_f1``, ``.accuracy``, ``.macro_f1_stderr`` (bootstrap: the standard
deviation of macro-F1 over ``N_BOOT`` seeded resamples of the file's rows), ``.accuracy_stderr``
(binomial), ``.nll``, ``.brier`` and ``.n``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from taskdistill.config import ConfigError, StrictModel

N_BOOT = 1000
BOOT_SEED = 0
STDERR_METHOD = f"bootstrap: std of macro-F1 over {N_BOOT} row resamples (seed {BOOT_SEED})"
METRICS = ("macro_f1", "macro_f1_stderr", "accuracy", "accuracy_stderr", "nll", "brier", "n")


class TransferSet(StrictModel):
    """One labelled file every model of a sweep is also scored on."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="column prefix: transfer.<name>.macro_f1")
    split: str = Field(description="CSV / JSONL / parquet file; relative to the current directory")
    task: str | None = Field(None, description="task the file is labelled for (default: the sweep's task); "
                             "a task derived from the sweep's task is scored by summing probabilities")
    required: bool = Field(False, description="a missing file is an error at spec load (else skipped)")
    batch_size: int = Field(16, ge=1, description="scoring batch size (does not change the numbers)")

    def path(self) -> Path:
        return Path(self.split).expanduser()

    def found(self) -> bool:
        return self.path().is_file()


def parse_sets(raw: Any, source: str = "<spec>") -> list[TransferSet]:
    """``eval.transfer`` of a spec -> validated sets (one clear line naming the field on bad input)."""
    from pydantic import ValidationError

    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: field 'eval.transfer': a list of {{name, split, task, required}}, "
                          f"not {type(raw).__name__}")
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(TransferSet.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "<root>"
            raise ConfigError(f"{source}: field 'eval.transfer.{i}.{loc}': {err['msg']}") from None
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"{source}: field 'eval.transfer': duplicate names {dup}")
    return out


def resolve_sets(sets: list[TransferSet], base: Path, sweep_task, source: str = "<spec>",
                 drop_foreign: bool = False) -> tuple[list[TransferSet], list[str]]:
    """Absolute split paths (relative ones against ``base``, the working directory), the task checked
    against the sweep's, and a missing ``required`` file refused. Returns (sets, names dropped): with
    ``drop_foreign`` (the sweep runs another task than its spec's) a set whose task does not fit is
    dropped instead of refused."""
    from taskdistill.task import TaskError, load_task

    out, dropped = [], []
    for i, s in enumerate(sets):
        p = s.path()
        s = s.model_copy(update={"split": str(p if p.is_absolute() else (base / p).resolve())})
        if s.required and not s.found():
            raise ConfigError(f"{source}: field 'eval.transfer.{i}.split': no file at {s.split} (required: true; "
                              "set required: false to run without it)")
        if s.task is not None:
            try:
                t = load_task(s.task)
            except TaskError as exc:
                raise ConfigError(f"{source}: field 'eval.transfer.{i}.task': {exc}") from None
            if t.hash != sweep_task.hash:
                parent = t.derive.task if t.derive else None
                if (parent is None or load_task(parent).hash != sweep_task.hash) and drop_foreign:
                    dropped.append(s.name)
                    continue
                if parent is None or load_task(parent).hash != sweep_task.hash:
                    raise ConfigError(f"{source}: field 'eval.transfer.{i}.task': task {t.name!r} is neither the "
                                      f"sweep's task {sweep_task.name!r} nor derived from it, so the sweep's models "
                                      "cannot be scored on it")
        out.append(s)
    return out, dropped


def bootstrap_macro_f1_stderr(gold: np.ndarray, pred: np.ndarray, n_classes: int, n_boot: int = N_BOOT,
                              seed: int = BOOT_SEED) -> float:
    """Standard deviation of macro-F1 over ``n_boot`` resamples (with replacement) of the rows."""
    from taskdistill.evaluate.metrics import _macro_f1_hard  # the same averaging as the record's macro-F1

    rng = np.random.default_rng(seed)
    n = len(gold)
    vals = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        vals[b] = _macro_f1_hard(gold[idx], pred[idx], n_classes)
    return float(vals.std(ddof=1))


def summarise(indomain: dict) -> dict[str, Any]:
    """The transfer columns from an in-domain record of the transfer file."""
    from taskdistill.evaluate.metrics import binomial_stderr

    labels = list(indomain["labels"])
    ex = indomain["examples"]
    gold = np.array([labels.index(x) for x in ex["gold"]])
    pred = np.array([labels.index(x) for x in ex["pred"]])
    n = len(gold)
    acc = float(indomain["accuracy"])
    return {"macro_f1": float(indomain["macro_f1"]),
            "macro_f1_stderr": bootstrap_macro_f1_stderr(gold, pred, len(labels)),
            "accuracy": acc, "accuracy_stderr": float(binomial_stderr(acc * n, n)),
            "nll": float(indomain["nll"]), "brier": float(indomain["brier"]), "n": int(n)}


def score_transfer(model_dir: str | Path, split: str | Path, task, model_task, *, batch_size: int = 16,
                   progress: bool = False, device: str | None = "auto") -> dict[str, Any]:
    """Score the model in ``model_dir`` (answering in ``model_task``) on the file ``split`` labelled for
    ``task``: the columns above plus the file's hash and the stderr method. ``device``: where it runs."""
    from taskdistill.evaluate.record import evaluate_model

    rec = evaluate_model(model_dir, split, task=task, model_task=model_task, mmlu_n=0, efficiency=False,
                         batch_size=batch_size, progress=progress, device=device)
    return {**summarise(rec["indomain"]), "split_hash": rec["split"]["hash"], "task": rec["task"]["name"],
            "model_task": rec["model_task"]["name"], "stderr_method": STDERR_METHOD}
