"""Score every model of a sweep on its transfer sets (``eval.transfer``; see ``evaluate.transfer``).

Each (model, transfer set) pair is its own cached node, ``transfer-<key>``, whose key hashes the
model node's key, the file's content hash, the task the file is labelled for (its hash) and the
scoring settings; not the file's path or the set's name, so moving or renaming the file reuses the
scores. The existing nodes (teacher, prune, distill, the synthetic evaluation) and the cells are
untouched: a sweep that finished before a transfer set was listed only computes the new scores.

Each cell scores its own model right after its synthetic evaluation, before the cell counts as done
(``run_cell``), so a model is scored while it is certainly in the cache, even when
``execution.keep_models: needed`` deletes it soon after. A pass after the cells, in the process that
runs the sweep, scores what is still missing: cells finished before a set was listed, scores that
failed. A model whose node is no longer in the cache is skipped there (never retrained for a
transfer score); a failing score is stored with its error and the sweep goes on.
The store's meta ``transfer`` lists the sets with where they were looked for and whether they were
found, which the report shows.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from taskdistill.sweep.dag import Node, expand
from taskdistill.sweep.spec import SweepSpec


def transfer_node(spec: SweepSpec, ts, file_hash: str, model: Node) -> Node:
    """The cached node of ``model`` scored on the transfer set ``ts`` (file bytes hashed as ``file_hash``)."""
    from taskdistill.task import load_task

    task = load_task(ts.task) if ts.task else spec.task_obj
    def ref(t):  # the full definition, so the stage can rebuild a task that is only a file somewhere
        return {"name": t.name, "hash": t.hash, "definition": t.model_dump(mode="json")}

    return Node("transfer", {"split_hash": file_hash, "task": ref(task), "model_task": ref(spec.task_obj),
                             "batch_size": ts.batch_size}, (("model", model),))


class _WithPaths:
    """The sweep's stages, with each transfer node's file path handed to it (the path is not part of
    the node's key: the file's content hash is)."""

    def __init__(self, stages: Any, paths: dict[str, str]):
        self._stages, self._paths = stages, paths

    def __getattr__(self, name: str):
        return getattr(self._stages, name)

    def transfer(self, params: dict, inputs: dict, out: Path, work: Path) -> dict[str, Any]:
        return self._stages.transfer({**params, "path": self._paths[params["split_hash"]]}, inputs, out, work)


def found_sets(spec: SweepSpec) -> tuple[list[dict[str, Any]], list[tuple[Any, str]]]:
    """The transfer sets as recorded in the store's meta (with where they were looked for and whether
    they were found), and the found ones with their files' content hashes."""
    from taskdistill.cache import file_hash

    meta, found = [], []
    for ts in spec.transfer_sets:
        entry = {"name": ts.name, "split": ts.split, "task": ts.task or spec.task_obj.name, "required": ts.required,
                 "found": ts.found(), "hash": None}
        if entry["found"]:
            entry["hash"] = file_hash(ts.path())
            found.append((ts, entry["hash"]))
        meta.append(entry)
    return meta, found


def transfer_runner(stages: Any, store: Any, found: list[tuple[Any, str]], failed: dict[str, str] | None = None):
    """A node runner whose stages get each transfer node's file path."""
    from taskdistill.sweep.runner import NodeRunner, load_stages

    return NodeRunner(_WithPaths(load_stages(stages), {h: ts.split for ts, h in found}), store, failed=failed)


def score_cell(spec: SweepSpec, cell: Any, store: Any, runner: Any, found: list[tuple[Any, str]],
               stored: dict[str, dict[str, Any]] | None = None, console=None,
               counts: dict[str, int] | None = None) -> dict[str, int]:
    """Score one cell's model on every found transfer set not scored yet (``stored``: the cell's stored
    scores by set name); store each score, or its error. Returns ``counts`` updated."""
    from taskdistill.sweep.runner import read_node

    counts = counts if counts is not None else {"scored": 0, "cached": 0, "skipped": 0, "failed": 0}
    stored = stored or {}
    model = cell.node.input("model")
    for ts, h in found:
        node = transfer_node(spec, ts, h, model)
        prev = stored.get(ts.name, {})
        if prev.get("node_key") == node.key and "error" not in prev:
            counts["cached"] += 1
            continue
        result = read_node(node)
        if result is None and read_node(model) is None:
            counts["skipped"] += 1  # the model's checkpoint left the cache: never retrain for a score
            continue
        if result is None and console is not None:
            console.print(f"transfer {ts.name}: scoring {cell.label()}")
        try:
            result = runner.ensure(node)
            counts["scored"] += 1
        except Exception as exc:  # noqa: BLE001  (one failing score must not stop the sweep)
            result = {"error": f"{type(exc).__name__}: {exc}", "split_hash": h,
                      "traceback": traceback.format_exc()}
            counts["failed"] += 1
            if console is not None:
                console.print(f"[red]transfer {ts.name} failed[/] for {cell.label()}: {result['error']}")
        store.set_transfer(cell.cell_id, ts.name, node.key, {**result, "node_key": node.key})
    return counts


def run_transfer(spec: SweepSpec, sweep_dir: str | Path, stages: Any, console=None) -> dict[str, int]:
    """Score every finished cell's model on every transfer set found and not scored yet; returns counts
    (scored / cached / skipped / failed). Records the sets (found or not) in the store's meta ``transfer``."""
    from taskdistill.sweep.store import Store

    store = Store(sweep_dir)
    meta, found = found_sets(spec)
    store.set_meta("transfer", meta)
    counts = {"scored": 0, "cached": 0, "skipped": 0, "failed": 0}
    if not found:
        return counts
    status = {c["cell_id"]: c["status"] for c in store.cells()}
    stored = store.transfer()
    runner = transfer_runner(stages, store, found)
    for cell in expand(spec):
        if status.get(cell.cell_id) == "done":
            score_cell(spec, cell, store, runner, found, stored.get(cell.cell_id, {}), console, counts)
    return counts


def write_transfer(sweep_dir: str | Path, path: str | Path) -> Path | None:
    """Write the sweep's transfer sets (found or not, with their tasks) as ``transfer_sets.json`` at ``path``, so a
    report built from the exported table compares each set's score at the right label granularity; None
    (nothing written) when the sweep lists no transfer set."""
    import json

    from taskdistill.cache import atomic_write_text
    from taskdistill.report.transfer import TRANSFER_FORMAT
    from taskdistill.sweep.store import Store

    sets = Store(sweep_dir, create=False).get_meta("transfer", []) or []
    if not sets:
        return None
    return atomic_write_text(path, json.dumps({"format": TRANSFER_FORMAT, "sets": sets}, indent=1) + "\n")
