"""One pruning step: importance -> plan -> physical slicing (``prune_model``)."""

from __future__ import annotations

import time

from taskdistill.info import runtime
from taskdistill.prune.adapters import adapter_for, shape_of
from taskdistill.prune.apply import apply_plan
from taskdistill.prune.importance import compute_importance, model_hash
from taskdistill.prune.plan import plan_shape


def prune_model(model, tokenizer, target: float, *, calib_texts: list[str] | None = None,
                strategy: str = "combined", method: str = "activation", reference_params: int | None = None,
                non_embedding: bool = False, axes: tuple[str, ...] | None = None, batch_size: int = 8,
                max_length: int = 64, cache: bool = True, progress: bool = True,
                layer_score: str = "block_influence", task=None):
    """Prune ``model`` to ``target`` x ``reference_params`` parameters; return (new model, report dict).

    ``reference_params`` is the teacher's count (default: this model's), so iterative pruning of a
    student passes the teacher's count and a target that is again a fraction of the teacher. The plan is
    made first, so an unreachable target fails before the calibration pass. ``layer_score="skip_loss"``
    ranks layers by the loss increase when each is bypassed (n_layers extra forward passes; worth it
    when the plan drops layers, see ``compute_importance``). ``task`` (a ``Task``) is the task the
    calibration texts were rendered for: its hash is part of the importance cache key and the report."""
    from taskdistill.models.arch import count_params

    t0 = time.perf_counter()
    adapter_for(model.config)
    before = shape_of(model.config).as_dict()
    plan = plan_shape(model.config, target, strategy=strategy, reference_params=reference_params,
                      non_embedding=non_embedding, axes=axes)
    t1 = time.perf_counter()
    imp = compute_importance(model, tokenizer, calib_texts, method=method, batch_size=batch_size,
                             max_length=max_length, cache=cache, progress=progress, layer_score=layer_score,
                             task_hash=task.hash if task is not None else None)
    t2 = time.perf_counter()
    new_model = apply_plan(model, plan, imp)
    t3 = time.perf_counter()
    report = {
        "target": float(target),
        "strategy": plan.strategy,
        "method": method,
        "layer_score": imp.meta.get("layer_score", "magnitude" if method == "magnitude" else layer_score),
        "non_embedding": non_embedding,
        "reference_params": plan.reference_params,
        "before": {**before, "params": count_params(model, non_embedding=non_embedding)},
        "after": {**plan.shape_dict(), "params": plan.params},
        "fraction_of_reference": plan.fraction,
        "params_total": count_params(new_model),
        "params_non_embedding": count_params(new_model, non_embedding=True),
        "kept_layers": new_model.taskdistill_kept["layers"],
        "kept_heads": new_model.taskdistill_kept["heads"],
        "source_model_hash": model_hash(model),
        "importance": {"key": imp.meta.get("key"), "cache": imp.meta.get("cache"),
                       "calib_texts": len(calib_texts or []), "max_length": max_length},
        "seconds": {"plan": t1 - t0, "importance": t2 - t1, "apply": t3 - t2, "total": t3 - t0},
        "source": getattr(model, "taskdistill_source", None),
        "runtime": runtime(),  # threads, CPU kernels, BLAS: docs/reproducibility.md
    }
    if task is not None:
        report["task"] = {"name": task.name, "hash": task.hash}
    return new_model, report
