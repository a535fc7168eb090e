"""``sweep status``: what is done, running, failed and pending, and how long the rest will take.

The ETA is built from measured stage times, not guesses: every computed node stored its wall time,
so the remaining time is the sum, over the distinct nodes the unfinished cells still need, of that
node's work (``plan.work_units``: a distillation's examples times its student's size, an evaluation its
model's size) times its stage's measured seconds per unit of work. A distillation on four times the
rows is thus expected to take four times as long, not the stage's mean. Nodes shared by several cells
are counted once. Where the sweep's spec cannot be rebuilt, each node counts its stage's mean time.
Stages never measured yet are named, so the user knows the ETA is a lower bound. That sum is divided by
the number of workers the last ``sweep run`` used for an approximate wall time (dependencies between
cells can keep a worker idle, so it is a lower bound too).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from statistics import mean
from typing import Any

from taskdistill.sweep.store import Store


def _alive(pid: int | None, host: str | None) -> bool | None:
    """Whether a running cell's process still exists (None when it ran on another machine)."""
    if pid is None or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cached_stage_means(nodes_dir: Path, stages: set[str]) -> dict[str, float]:
    import json

    seen: dict[str, list[float]] = {}
    if not nodes_dir.is_dir():
        return {}
    for d in nodes_dir.iterdir():
        stage = d.name.split("-", 1)[0]
        if stage in stages and (d / "node.json").is_file():
            try:
                seen.setdefault(stage, []).append(float(json.loads((d / "node.json").read_text())["seconds"]))
            except (ValueError, KeyError, json.JSONDecodeError):
                continue
    return {s: mean(v) for s, v in seen.items()}


def _work_units(store: Store) -> dict[str, float]:
    """Work units of every node of the sweep's DAG by key (``plan.work_units``); {} when the stored spec
    cannot be rebuilt (its task file moved, say): the ETA then uses stage means."""
    from taskdistill.sweep.dag import expand, unique_nodes
    from taskdistill.sweep.plan import work_units
    from taskdistill.sweep.spec import SweepSpec

    raw = store.get_meta("spec")
    if raw is None:
        return {}
    try:
        spec = SweepSpec.model_validate(raw)
        return {key: work_units(spec, node) for key, node in unique_nodes(expand(spec)).items()}
    except Exception:  # noqa: BLE001  (an ETA without weights beats no status)
        return {}


def sweep_status(sweep_dir: str | Path) -> dict[str, Any]:
    store = Store(sweep_dir, create=False)
    cells = store.cells()
    times = store.node_times()
    per_stage: dict[str, list[float]] = {}
    for stage, sec in times.values():
        per_stage.setdefault(stage, []).append(sec)
    stage_mean = {s: mean(v) for s, v in per_stage.items()}

    from taskdistill.cache import home as _home
    from taskdistill.sweep.runner import NODE_FILE

    nodes_dir = Path(store.get_meta("home") or _home()) / "nodes"
    missing_stages = {c_stage for c in cells for c_stage in (k.split("-", 1)[0] for k in c["stages"])} - set(stage_mean)
    if missing_stages:  # not measured in this sweep yet: fall back on the same stages of other sweeps
        stage_mean.update(_cached_stage_means(nodes_dir, missing_stages))
    counts = {"done": 0, "running": 0, "failed": 0, "pending": 0, "interrupted": 0}
    rows = []
    remaining: dict[str, str] = {}
    for c in cells:
        status = c["status"]
        if status == "running" and _alive(c["pid"], c["host"]) is False:
            status = "interrupted"  # its process died (kill -9): the next run picks it up
        counts[status] += 1
        rows.append({**c, "status": status})
        if status != "done":
            for key in c["stages"]:
                if key not in times and not (nodes_dir / key / NODE_FILE).is_file():
                    remaining[key] = key.split("-", 1)[0]
    units = _work_units(store) if remaining else {}
    done_units: dict[str, list[float]] = {}  # stage -> [seconds, units] of its measured nodes with known work
    for key, (stage, sec) in times.items():
        if units.get(key):
            acc = done_units.setdefault(stage, [0.0, 0.0])
            acc[0] += sec
            acc[1] += units[key]
    eta = 0.0
    unknown: set[str] = set()
    for key, stage in remaining.items():
        if stage in done_units and key in units:
            eta += units[key] * done_units[stage][0] / done_units[stage][1]
        elif stage in stage_mean:
            eta += stage_mean[stage]
        else:
            unknown.add(stage)
    workers = int(store.get_meta("workers") or 1)
    return {"counts": counts, "cells": rows, "eta_seconds": eta, "eta_unmeasured_stages": sorted(unknown),
            "remaining_nodes": len(remaining), "stage_mean_seconds": stage_mean, "total": len(cells),
            "workers": workers, "eta_wall_seconds": eta / max(1, workers)}


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{sec:02d}s" if m else f"{sec}s")


def print_status(sweep_dir: str | Path, show_cells: bool = True) -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table

    st = sweep_status(sweep_dir)
    console = Console()
    if show_cells:
        t = Table(title=f"sweep {sweep_dir}")
        for col in ("#", "cell", "status", "attempts", "seconds", "error"):
            t.add_column(col)
        colour = {"done": "green", "running": "yellow", "failed": "red", "interrupted": "magenta"}
        for c in st["cells"]:
            err = (c["error"] or "").strip().splitlines()
            t.add_row(str(c["idx"]), c["label"], f"[{colour.get(c['status'], 'white')}]{c['status']}[/]",
                      str(c["attempts"]), f"{c['seconds']:.0f}" if c["seconds"] else "",
                      err[-1][:80] if err else "")
        console.print(t)
    counts = st["counts"]
    summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v or k in ("done", "pending"))
    console.print(f"{st['total']} cells: {summary}")
    if st["remaining_nodes"]:
        unmeasured = st["eta_unmeasured_stages"]
        if unmeasured and st["eta_seconds"] == 0:
            eta = (f"ETA unknown: {st['remaining_nodes']} remaining stage runs, none of their stages measured "
                   f"yet ({', '.join(unmeasured)})")
        else:
            eta = (f"ETA {'>= ' if unmeasured else ''}{_fmt_seconds(st['eta_seconds'])} for "
                   f"{st['remaining_nodes']} remaining stage runs")
            if st["workers"] > 1:  # stage runs overlap across workers (dependencies allowing)
                eta += (f", about {'>= ' if unmeasured else ''}{_fmt_seconds(st['eta_wall_seconds'])} of wall time "
                        f"on the last run's {st['workers']} workers")
            if unmeasured:
                eta += f" (+ stages not measured yet: {', '.join(unmeasured)})"
        console.print(eta)
    if st["stage_mean_seconds"]:
        console.print("measured mean seconds per stage (this sweep, else cached nodes): " + ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(st["stage_mean_seconds"].items())))
    return st
