"""Pruning schedules: prune -> distill (-> prune the distilled student again ...).

- ``iterative``: for each target (fractions of the *teacher*, decreasing), prune the previous step's
  distilled student to the target (importance recomputed on that student, ``reference_params`` fixed
  to the teacher), then distill it with ``cfg.steps`` steps.
- ``oneshot``: prune the teacher straight to the last target and distill it once with the same total
  budget, ``cfg.steps * len(targets)`` steps, so the two schedules are compared at equal compute.

Every step leaves a pruned checkpoint and a distilled checkpoint whose ``lineage.json`` records where
it came from (parent checkpoint, prune report, distill settings, teacher cache), so any student can be
traced back to the teacher. Steps whose outputs exist are reused, so a killed schedule resumes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from taskdistill.cache import atomic_write_json
from taskdistill.distill.config import DistillConfig
from taskdistill.distill.examples import Example, examples_hash
from taskdistill.distill.targets import TopKCache

SCHEDULES = ("iterative", "oneshot")


def _pct(x: float) -> str:
    return f"{round(x * 100):02d}"


def run_schedule(teacher_dir: str | Path, targets: Sequence[float], *, schedule: str = "iterative",
                 calib_texts: list[str] | None, train_examples: Sequence[Example], cache: TopKCache | None,
                 cfg: DistillConfig, out_root: str | Path, eval_examples: Sequence[Example] | None = None,
                 prune_strategy: str = "combined", prune_method: str = "activation",
                 quiet: bool = False) -> list[dict]:
    """Run the schedule; return one record per step (also written as ``lineage.json`` next to each
    distilled checkpoint). ``targets`` are fractions of the teacher's parameters, e.g. the paper's
    ``(0.79, 0.58, 0.37, 0.16)``."""
    from taskdistill.distill.trainer import load_log, train
    from taskdistill.models import load_model
    from taskdistill.models.arch import count_params
    from taskdistill.prune import prune_model, save_pruned
    from taskdistill.prune.schedule import iterative_steps

    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose {SCHEDULES}")
    steps = iterative_steps(list(targets))  # validates: fractions, strictly decreasing
    teacher_dir = Path(teacher_dir)
    out_root = Path(out_root)
    teacher, _ = load_model(teacher_dir, quiet=True)
    teacher_params = count_params(teacher)
    del teacher
    if schedule == "oneshot":
        plan = [(0, 1.0, steps[-1].target, cfg.steps * len(steps))]
    else:
        plan = [(s.index, s.start, s.target, cfg.steps) for s in steps]

    records: list[dict] = []
    parent = teacher_dir
    for index, start, target, n_steps in plan:
        step_dir = out_root / f"{schedule}-step{index}-{_pct(target)}"
        pruned_dir = step_dir / "pruned"
        if not (pruned_dir / "config.json").exists():
            model, tok = load_model(parent, quiet=True)
            pruned, report = prune_model(model, tok, target, calib_texts=calib_texts, strategy=prune_strategy,
                                         method=prune_method, reference_params=teacher_params,
                                         progress=not quiet)
            del model
            report["parent"] = str(parent)
            save_pruned(pruned, tok, pruned_dir, report, overwrite=True)
            del pruned
        model, tok = load_model(pruned_dir, quiet=True)
        params = count_params(model)
        step_cfg = cfg.model_copy(update={"steps": n_steps})
        final = train(model, tok, train_examples, step_cfg, step_dir / "distill", cache=cache,
                      eval_examples=eval_examples, quiet=quiet)
        log = load_log(step_dir / "distill")
        evals = [r["eval"] for r in log if "eval" in r]
        record = {
            "schedule": schedule,
            "step": index,
            "start_fraction": start,
            "target": target,
            "parent": str(parent),
            "teacher": str(teacher_dir),
            "pruned": str(pruned_dir),
            "checkpoint": str(final),
            "params": params,
            "teacher_params": teacher_params,
            "param_ratio": params / teacher_params,
            "distill_steps": n_steps,
            "distill_config": json.loads(step_cfg.model_dump_json()),
            "data_hash": examples_hash(train_examples),
            "teacher_cache": str(cache.path) if cache is not None else None,
            "teacher_hash": cache.teacher_hash if cache is not None else None,
            "prune": {"strategy": prune_strategy, "method": prune_method,
                      "calib_texts": len(calib_texts or [])},
            "eval_before": evals[0] if evals else None,
            "eval_after": evals[-1] if len(evals) > 1 else None,
            "lineage": [r["checkpoint"] for r in records] + [str(final)],
        }
        atomic_write_json(final / "lineage.json", record)
        records.append(record)
        parent = final
    atomic_write_json(out_root / f"{schedule}.json", records)
    return records
