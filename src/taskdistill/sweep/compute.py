"""The compute a sweep spent, per stage kind, and the work its caching saved: ``compute.json``.

Every cell of a sweep is the tail of a chain of content-addressed nodes (``sweep/dag.py``); a node that
two cells need is computed once. For each stage kind this counts, over the finished cells:

- ``uses``: how many times a cell needed a node of this kind (a 58 % iterative cell uses two prune and
  two distill nodes, and the dataset, teacher and annotation nodes once each, and one transfer score per
  transfer set);
- ``nodes``: how many distinct nodes those uses needed;
- ``reuses`` = ``uses - nodes``: uses served by a node another cell had already needed (the teacher's
  single annotation pass, shared chain prefixes, the one-shot cell equal to the iterative one);
- ``computed``, ``seconds`` and ``cpu_seconds``: nodes this sweep computed itself and their measured wall
  and CPU seconds (the store's ``node_times``; CPU = every thread of the worker process that computed the
  node);
- ``from_cache``: distinct nodes found already computed before this sweep needed them (by an earlier
  sweep sharing the cache folder);
- ``seconds_saved``: the wall seconds the reuses would have cost had each use recomputed its node, from
  the node's measured seconds (this sweep's, else the cached node's record; nodes with no measured
  time add nothing).

Those depend on the run: a rerun that finds every node in the cache computes nothing. What the table
itself cost does not, and it is what the report states:

- ``node_seconds``, ``node_cpu_seconds``: the wall and CPU seconds of the distinct nodes the finished
  cells used, as recorded when each was computed (by this sweep or, in the cache's ``node.json``, by
  another), and ``unrecorded``: how many of them lack a recorded wall or CPU time (counted as 0 there);
- ``shared_saved``: what the reuses would have cost recomputed: for each node, (uses - 1) x its seconds.

The file sits beside the exported results table, so a report built from committed files states the
compute without the cache or the SQLite store.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from taskdistill.report.compute import COMPUTE_FILE, COMPUTE_FORMAT, FIELDS, read_compute

__all__ = ["COMPUTE_FILE", "compute_summary", "read_compute", "write_compute"]


def _stage(key: str) -> str:
    return key.split("-", 1)[0]


def _cached_record(key: str) -> tuple[float | None, float | None]:
    """(wall, CPU) seconds of a node as recorded in its ``node.json`` in the cache; None where absent."""
    from taskdistill.cache import home
    from taskdistill.sweep.runner import NODE_FILE

    f = home() / "nodes" / key / NODE_FILE  # the runner's node folder (sweep.runner.node_dir)
    try:
        meta = json.loads(f.read_text())
    except (OSError, ValueError):
        return None, None

    def num(name: str) -> float | None:
        try:
            return float(meta[name])
        except (KeyError, TypeError, ValueError):
            return None

    return num("seconds"), num("cpu_seconds")


def compute_summary(sweep_dir: str | Path) -> dict[str, Any]:
    """Per-stage counts, seconds and reuses of a sweep folder (see the module docstring)."""
    from taskdistill.sweep.dag import STAGE_ORDER
    from taskdistill.sweep.store import Store

    store = Store(sweep_dir, create=False)
    cells = store.cells()
    times = store.node_records()  # key -> stage, seconds, cpu_seconds, finished
    done = [c for c in cells if c["status"] == "done"]
    uses = Counter(k for c in done for k in c["stages"])
    done_ids = {c["cell_id"] for c in done}
    uses.update(rec["node_key"] for cid, sets in store.transfer().items() if cid in done_ids  # transfer scores
                for rec in sets.values() if rec.get("node_key") and "error" not in rec)
    per: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for key, n in uses.items():
        s = per[_stage(key)]
        s["uses"] += n
        s["nodes"] += 1
        s["reuses"] += n - 1
        sec, cpu = (times[key]["seconds"], times[key]["cpu_seconds"]) if key in times else _cached_record(key)
        if key not in times:
            s["from_cache"] += 1
        if sec is not None:
            s["seconds_saved"] += (n - 1) * sec + (0 if key in times else sec)
            s["shared_saved"] += (n - 1) * sec
            s["node_seconds"] += sec
            s["node_cpu_seconds"] += cpu or 0.0
        if sec is None or cpu is None:
            s["unrecorded"] += 1
    for t in times.values():
        per[t["stage"]]["computed"] += 1
        per[t["stage"]]["seconds"] += t["seconds"]
        per[t["stage"]]["cpu_seconds"] += t["cpu_seconds"] or 0.0
    order = {s: i for i, s in enumerate(STAGE_ORDER)}
    def fmt(k: str, v: float) -> float | int:
        return round(v, 3) if "seconds" in k or k == "shared_saved" else int(v)

    stages = [{"stage": st, **{k: fmt(k, v) for k, v in per[st].items()}}
              for st in sorted(per, key=lambda s: (order.get(s, len(order)), s))]
    total = {k: fmt(k, sum(s[k] for s in stages)) for k in FIELDS}
    # the span of the work: from the first node or cell start to the last finish (the latest attempts)
    started = [c["started"] for c in done if c.get("started")] + [t["finished"] - t["seconds"] for t in times.values()]
    finished = [c["finished"] for c in done if c.get("finished")] + [t["finished"] for t in times.values()]
    threads = sorted({r["provenance"].get("runtime", {}).get("torch_threads") for r in store.results()} - {None})
    return {"format": COMPUTE_FORMAT, "sweep": Path(sweep_dir).name,
            "cells": {"total": len(cells), "done": len(done),
                      "failed": sum(c["status"] == "failed" for c in cells)},
            "stages": stages, "total": total,
            "wall_span_seconds": round(max(finished) - min(started), 3) if started and finished else None,
            "torch_threads": threads,
            "note": "seconds are wall seconds per node (cpu_seconds: CPU seconds of its worker process); nodes computed in parallel workers overlap in time, so "
                    "their sum can exceed wall_span_seconds (first start to last finish of a node or cell, "
                    "latest attempts)"}


def write_compute(sweep_dir: str | Path, out: str | Path) -> Path:
    """Write :func:`compute_summary` of ``sweep_dir`` as JSON to ``out``."""
    from taskdistill.cache import atomic_write_text

    return atomic_write_text(Path(out), json.dumps(compute_summary(sweep_dir), indent=1) + "\n")
