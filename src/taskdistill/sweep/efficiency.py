"""Speed measured again on a quiet machine: ``taskdistill sweep efficiency SWEEP``.

Every evaluation in a sweep records its model's parameters, size on disk, latency and throughput, but
there the workers share the cores, so the timings say as much about the neighbours as about the model.
This command measures again, one model at a time in one process: the teacher and up to ``per_target``
students per target ratio (one per schedule first, since an iterative and a one-shot student of the same
ratio may differ in shape), each with the evaluation's own code
(``taskdistill.evaluate.efficiency.measure_efficiency``) on the first ``limit`` test inputs. The
machine (CPU, cores, torch threads, the load average before and after) is written beside the numbers.

The result, ``efficiency.json`` in the sweep folder, is copied beside the results table by ``sweep
export``; the report's efficiency table then uses it instead of the in-sweep timings and says so. A
model whose node left the cache (``execution.keep_models: needed``) is skipped, and the file says which.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from taskdistill.report.efficiency import EFFICIENCY_FILE, EFFICIENCY_FORMAT
from taskdistill.sweep.dag import Cell, expand

__all__ = ["EFFICIENCY_FILE", "copy_efficiency", "measure_sweep", "pick_cells"]


def pick_cells(cells: list[Cell], status: dict[str, str], per_target: int) -> list[Cell]:
    """The teacher's cell and, per target ratio, up to ``per_target`` finished students in grid order, one
    per schedule before a second of any schedule (pruned-only rows have the one-shot students' shapes and are
    left out)."""
    done = [c for c in cells if status.get(c.cell_id) == "done" and c.settings["method"] != "pruned"]
    out = [c for c in done if c.settings["method"] == "teacher"][:1]
    by_target: dict[float, list[Cell]] = {}
    for c in done:
        if c.settings["method"] != "teacher":
            by_target.setdefault(float(c.settings["target"]), []).append(c)
    for target in sorted(by_target, reverse=True):
        group, firsts = by_target[target], {}
        for c in group:
            firsts.setdefault(c.settings["schedule"], c)
        chosen, models = [], set()
        for c in [*firsts.values(), *group]:  # one model per schedule first, then the rest in grid order
            key = c.node.input("model").key
            if len(chosen) < per_target and key not in models:
                chosen.append(c)
                models.add(key)
        out += chosen
    return out


def measure_sweep(sweep_dir: str | Path, *, limit: int = 64, per_target: int = 2, batch_size: int = 16,
                  latency_n: int = 16, repeats: int = 3, threads: int | None = None, progress: bool = True,
                  console=None) -> dict[str, Any]:
    """Measure the picked models (see :func:`pick_cells`) one at a time; write and return ``efficiency.json``."""
    import json

    import pandas as pd
    import torch

    from taskdistill.cache import atomic_write_text
    from taskdistill.evaluate.efficiency import measure_efficiency
    from taskdistill.info import runtime
    from taskdistill.models import load_model
    from taskdistill.sweep.runner import read_node
    from taskdistill.sweep.spec import SweepSpec
    from taskdistill.sweep.store import Store, StoreError

    sweep_dir = Path(sweep_dir)
    store = Store(sweep_dir, create=False)
    raw = store.get_meta("spec")
    if raw is None:
        raise StoreError(f"{sweep_dir}: no sweep spec in its store; run the sweep first")
    spec = SweepSpec.model_validate(raw)
    if threads is not None:
        torch.set_num_threads(threads)
    status = {c["cell_id"]: c["status"] for c in store.cells()}
    picked = pick_cells(expand(spec), status, per_target)
    if not picked:
        raise StoreError(f"{sweep_dir}: no finished cell to measure yet")
    data = read_node(next(n for n in picked[0].node.ancestors() if n.stage == "data"))
    if data is None:
        raise StoreError(f"{sweep_dir}: the sweep's dataset is no longer in the cache; rerun the sweep to rebuild it")
    task = spec.task_obj
    test = pd.read_parquet(Path(data["path"]) / "test.parquet")
    texts = test[task.input_field].astype(str).tolist()[:limit]
    load_before = os.getloadavg()
    models, skipped = [], []
    for i, cell in enumerate(picked):
        node = cell.node.input("model")
        res = read_node(node)
        if res is None:
            skipped.append({"cell_id": cell.cell_id, "label": cell.label(), "why": "model no longer in the cache"})
            continue
        if console is not None and progress:
            console.print(f"[{i + 1}/{len(picked)}] {cell.label()}")
        model, tok = load_model(res["path"])
        model.eval()
        t0 = time.perf_counter()
        eff = measure_efficiency(model, tok, task, texts=texts, checkpoint_dir=res["path"], batch_size=batch_size,
                                 latency_n=latency_n, repeats=repeats)
        models.append({"cell_id": cell.cell_id, "label": cell.label(), **{k: cell.settings[k] for k in (
            "target", "method", "supervision", "schedule", "seed", "dataset_size")},
            "seconds": round(time.perf_counter() - t0, 3), **eff})
        del model
    out = {"format": EFFICIENCY_FORMAT, "sweep": sweep_dir.name,
           "machine": {**runtime(), "cores": os.cpu_count(), "torch": torch.__version__,
                       "load_before": [round(x, 2) for x in load_before],
                       "load_after": [round(x, 2) for x in os.getloadavg()]},
           "settings": {"limit": len(texts), "per_target": per_target, "batch_size": batch_size,
                        "latency_n": latency_n, "repeats": repeats},
           "models": models, "skipped": skipped}
    atomic_write_text(sweep_dir / EFFICIENCY_FILE, json.dumps(out, indent=1) + "\n")
    return out


def copy_efficiency(sweep_dir: str | Path, folder: str | Path) -> Path | None:
    """Copy the sweep's ``efficiency.json`` (checked) into ``folder`` (beside an exported table); None if the
    sweep has none or it is already there."""
    from taskdistill.cache import atomic_write_text
    from taskdistill.report.efficiency import read_efficiency

    src = Path(sweep_dir) / EFFICIENCY_FILE
    dst = Path(folder) / EFFICIENCY_FILE
    if not src.is_file() or src.resolve() == dst.resolve():
        return None
    read_efficiency(src)
    return atomic_write_text(dst, src.read_text())
