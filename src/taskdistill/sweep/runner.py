"""Run a sweep: compute each cell's node chain (reusing every node already done) and store its row.

Nodes live in ``$TASKDISTILL_HOME/nodes/<key>/`` (``node.json`` = the stage's result, plus whatever
files the stage wrote there). A node folder is built under a temporary name and renamed when the
stage returns, so "folder exists" means "complete". Concurrent workers (local processes or Ray tasks
on a shared filesystem) serialise on a per-node ``flock``: the second one waits, then finds the node
done. A kill -9 releases the lock and leaves at most a temporary folder, which is ignored.

A cell is claimed in the store (status ``running``), its chain is computed, and its evaluation
record is inserted with ``INSERT OR IGNORE`` keyed by the cell id; any exception is stored with its
traceback (status ``failed``) and the sweep goes on with the next cell.

With ``execution.keep_models: needed``, a finished cell deletes the student models (prune and
distill nodes) that no unfinished cell uses any more (``release_models``): a grid whose models do
not fit on disk together runs in the space of the chains in flight.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from taskdistill.cache import atomic_dir, atomic_write_json, clean_stale_tmp, home, work_dir
from taskdistill.config import ConfigError
from taskdistill.sweep.dag import Cell, Node, expand
from taskdistill.sweep.spec import SweepSpec, check_data
from taskdistill.sweep.store import Store
from taskdistill.task import BUILTIN

DEFAULT_STAGES = "taskdistill.sweep.stages:RealStages"
NODE_FILE = "node.json"
THREADS_ENV = "TASKDISTILL_THREADS"  # torch threads per worker, set by the executors
DEVICE_ENV = "TASKDISTILL_DEVICE"  # where the stages run their models (execution.device), set by the executors


def nodes_root() -> Path:
    d = home() / "nodes"
    d.mkdir(parents=True, exist_ok=True)
    return d


def node_dir(node: Node) -> Path:
    return nodes_root() / node.key


def load_stages(ref: str | Any) -> Any:
    """``"package.module:Attr"`` -> an instance of the stage implementation (or pass one through)."""
    if not isinstance(ref, str):
        return ref
    mod_name, _, attr = ref.partition(":")
    if not attr:
        raise ValueError(f"stages reference {ref!r} must look like 'package.module:Class'")
    obj = getattr(importlib.import_module(mod_name), attr)
    return obj() if isinstance(obj, type) else obj


@contextlib.contextmanager
def _lock(key: str) -> Iterator[None]:
    lock_dir = nodes_root() / ".locks"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / f"{key}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _paths_exist(result: Any) -> bool:
    """Whether every absolute path a node result points to still exists (caches can be pruned)."""
    if isinstance(result, dict):
        return all(_paths_exist(v) for k, v in result.items())
    if isinstance(result, list):
        return all(_paths_exist(v) for v in result)
    if isinstance(result, str) and result.startswith("/") and len(result) < 4096 and "\n" not in result:
        return Path(result).exists()
    return True


def _relocate(result: Any, tmp: str, final: str) -> Any:
    """Rewrite paths a stage returned inside its temporary folder to the folder's final name."""
    if isinstance(result, dict):
        return {k: _relocate(v, tmp, final) for k, v in result.items()}
    if isinstance(result, list):
        return [_relocate(v, tmp, final) for v in result]
    if isinstance(result, str) and result.startswith(tmp):
        return final + result[len(tmp):]
    return result


def read_node(node: Node) -> dict[str, Any] | None:
    """The stored result of a finished node, or None if it is not (validly) done."""
    f = node_dir(node) / NODE_FILE
    if not f.is_file():
        return None
    try:
        meta = json.loads(f.read_text())
    except json.JSONDecodeError:
        return None
    return meta["result"] if _paths_exist(meta["result"]) else None


class UpstreamError(RuntimeError):
    """A node cannot run because one of its inputs failed earlier in this run."""


class NodeRunner:
    """Computes nodes on demand, at most once each, and records their wall and CPU time (the ETA, the compute
    summary)."""

    def __init__(self, stages: Any, store: Store | None = None,
                 on_stage: Callable[[Node, str], None] | None = None, failed: dict[str, str] | None = None):
        self.stages = stages
        self.store = store
        self.on_stage = on_stage or (lambda node, event: None)
        # Nodes that already failed in this run: cells that need them fail at once instead of
        # repeating the same failing work (a rerun of the sweep retries them).
        self.failed = failed if failed is not None else {}

    def ensure(self, node: Node) -> dict[str, Any]:
        done = read_node(node)
        if done is not None:
            return done
        if node.key in self.failed:
            raise UpstreamError(f"input {node.key} failed earlier in this run:\n{self.failed[node.key]}")
        try:
            return self._compute(node)
        except UpstreamError:
            raise
        except Exception:
            self.failed[node.key] = traceback.format_exc()
            raise

    def _compute(self, node: Node) -> dict[str, Any]:
        inputs = {role: self.ensure(parent) for role, parent in node.inputs}
        with _lock(node.key):
            done = read_node(node)  # another worker may have finished it while we waited
            if done is not None:
                return done
            final = node_dir(node)
            if final.exists():  # stale: an input path it pointed to was deleted
                shutil.rmtree(final)
            self.on_stage(node, "start")
            fn = getattr(self.stages, node.stage)
            t0, c0 = time.perf_counter(), time.process_time()  # a worker process computes one node at a time
            work = work_dir(final)  # stable across attempts: stages resume from it
            with atomic_dir(final) as tmp:
                result = fn(node.params, inputs, tmp, work=work) or {}
                result = _relocate(result, str(tmp), str(final))
                seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
                atomic_write_json(tmp / NODE_FILE, {"key": node.key, "stage": node.stage, "params": node.params,
                                                    "inputs": {r: n.key for r, n in node.inputs},
                                                    "result": result, "seconds": seconds, "cpu_seconds": cpu})
            shutil.rmtree(work, ignore_errors=True)
            if self.store is not None:
                self.store.add_node_time(node.key, node.stage, seconds, cpu)
            self.on_stage(node, "done")
            return result


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str]:
    from taskdistill.info import versions

    return versions()


def _runtime() -> dict[str, Any]:
    """Threads, CPU kernels and BLAS (docs/reproducibility.md); the stages' thread count is the executors' setting."""
    from taskdistill.info import runtime

    out = runtime()
    if os.environ.get(THREADS_ENV):
        out["torch_threads"] = int(os.environ[THREADS_ENV])
    return out


def _brief(params: dict[str, Any]) -> dict[str, Any]:
    """Node settings for a result row's provenance: the task by name and hash (its definition is in the
    sweep folder's task.yaml and in the data node)."""
    if isinstance(params.get("task"), dict):
        return {**params, "task": {k: v for k, v in params["task"].items() if k != "definition"}}
    return params


def _provenance(spec: SweepSpec, cell: Cell, runner: NodeRunner, result: dict[str, Any]) -> dict[str, Any]:
    chain = cell.node.ancestors()
    task = spec.task_obj
    prov: dict[str, Any] = {
        "sweep": spec.name,
        "task": {"name": task.name, "hash": task.hash},
        "nodes": [{"stage": n.stage, "key": n.key, "params": _brief(n.params)} for n in chain],
        "spec": spec.to_json(),
        "git_commit": git_commit(),
        "versions": _versions(),
        "runtime": _runtime(),
        "host": os.uname().nodename,
    }
    teacher = next(n for n in chain if n.stage == "teacher")
    t_res = runner.ensure(teacher)
    for k in ("params", "params_nonemb"):
        if k in result:
            prov[k] = result[k]
    if "params" in result and t_res.get("params"):
        prov["params_ratio"] = result["params"] / t_res["params"]
    if "params_nonemb" in result and t_res.get("params_nonemb"):
        prov["params_ratio_nonemb"] = result["params_nonemb"] / t_res["params_nonemb"]
    return prov


def run_cell(spec: SweepSpec, cell: Cell, store: Store, stages: Any,
             on_stage: Callable[[Node, str], None] | None = None, failed: dict[str, str] | None = None) -> str:
    """Compute one cell and store its row; returns "done", "skipped" or "failed" (never raises).

    ``failed`` (node key -> traceback) is shared between the cells of one run, so a failing shared
    node (say the teacher) is tried once, not once per cell."""
    if not store.claim(cell.cell_id):
        return "skipped"
    runner = NodeRunner(stages, store, on_stage, failed)
    try:
        result = runner.ensure(cell.node)
        record = result.get("record")
        if isinstance(record, str):  # the evaluate stage stored its record as a file
            record = json.loads(Path(record).read_text())
        if not isinstance(record, dict):
            raise TypeError(f"evaluate stage returned no record for {cell.label()}: {result!r}")
        if spec.transfer_sets:  # scored now, while the model is certainly in the cache
            from taskdistill.sweep.transfer import found_sets, score_cell, transfer_runner

            _, found = found_sets(spec)
            if found:
                score_cell(spec, cell, store, transfer_runner(stages, store, found, failed), found,
                           store.transfer().get(cell.cell_id, {}))
        settings = dict(cell.settings)
        if settings["method"] == "teacher":  # the teacher learned from the whole train split
            data = next(n for n in cell.node.ancestors() if n.stage == "data")
            settings["dataset_size"] = runner.ensure(data).get("n_train")
        store.add_result(cell.cell_id, settings, record, _provenance(spec, cell, runner, result))
    except Exception:  # a failing cell must not stop the sweep: record it and go on
        store.fail(cell.cell_id, traceback.format_exc())
        return "failed"
    if spec.execution.keep_models == "needed":
        try:
            release_models(store, cell)
        except OSError as exc:  # a model left on disk costs space, never a result: say so and go on
            print(f"keep_models: could not delete a model of {cell.label()}: {exc}", file=sys.stderr)
    return "done"


MODEL_STAGES = ("prune", "distill")  # the stages whose nodes hold a student model (the teacher always stays)


def release_models(store: Store, cell: Cell) -> list[str]:
    """``execution.keep_models: needed``: delete the cached student models (prune and distill nodes) of
    ``cell``'s chain that no unfinished cell of the sweep uses; returns their keys.

    A cell that is pending, running or failed keeps every node of its chain; a done cell needs none
    (its row, its transfer scores and the nodes' timings are in the store). A model needed again
    later (a new cell, a rerun with ``--force``) is recomputed like any node missing from the cache."""
    open_keys: set[str] = set()
    for c in store.cells():
        if c["status"] != "done":
            open_keys.update(c["stages"])
    freed = []
    for node in cell.node.ancestors():
        if node.stage not in MODEL_STAGES or node.key in open_keys:
            continue
        with _lock(node.key):
            final = node_dir(node)
            if final.exists():
                shutil.rmtree(final)
                freed.append(node.key)
    return freed


def task_yaml(spec: SweepSpec) -> str:
    """The text of the sweep's task file (a built-in's packaged YAML, or the user's file as written)."""
    from taskdistill.task.model import builtin_path

    path = builtin_path(spec.task) if spec.task in BUILTIN else Path(spec.task)
    return path.read_text(encoding="utf-8")


def register(spec: SweepSpec, sweep_dir: str | Path) -> tuple[Store, list[Cell]]:
    """Open (or create) the sweep folder, write the spec (with the task's name and hash) and an exact
    copy of the task file next to the store, add the grid's cells.

    A sweep folder holds one task: registering a spec for another task there is an error."""
    sweep_dir = Path(sweep_dir)
    task = spec.task_obj
    check_folder(spec, sweep_dir)
    check_data(spec, source=f"spec {spec.name!r}")
    clean_stale_nodes()
    store = Store(sweep_dir)
    cells = expand(spec)
    from taskdistill.cache import atomic_write_text

    atomic_write_text(sweep_dir / "task.yaml", task_yaml(spec))
    atomic_write_json(sweep_dir / "spec.json", {**spec.to_json(), "task_name": task.name,
                                                "task_hash": task.hash})
    store.set_meta("spec", spec.to_json())
    store.set_meta("home", str(home()))
    store.register_cells([{"cell_id": c.cell_id, "idx": i, "label": c.label(), "settings": c.settings,
                           "node_key": c.node.key, "stages": [n.key for n in c.node.ancestors()]}
                          for i, c in enumerate(cells)])
    return store, cells


def clean_stale_nodes() -> list[Path]:
    """Remove the ``.<node>.*.tmp`` folders that killed runs left in the node cache (not those of live
    runs: ``clean_stale_tmp`` skips folders whose writer still holds their lock)."""
    root = nodes_root()
    finals = {entry.name[1:].split(".", 1)[0] for entry in os.scandir(root)
              if entry.name.startswith(".") and entry.name.endswith(".tmp")}
    return [p for name in sorted(finals) if name for p in clean_stale_tmp(root / name)]


def spec_difference(spec: SweepSpec, sweep_dir: str | Path) -> list[str] | None:
    """Fields (dotted) in which ``spec`` differs from the spec stored in ``sweep_dir``; None if the folder
    holds no sweep. ``execution`` (how cells run, not what they compute) and ``eval.transfer`` (extra scoring
    of the same models, stored beside the rows) never count."""
    old = Path(sweep_dir) / "spec.json"
    if not old.is_file():
        return None
    try:
        prev = json.loads(old.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{old}: unreadable ({exc}); this folder is not a usable sweep folder") from None
    new = {**spec.to_json(), "task_name": spec.task_obj.name, "task_hash": spec.task_obj.hash}

    def diff(a, b, prefix=""):
        if isinstance(a, dict) and isinstance(b, dict):
            out = []
            for k in sorted(set(a) | set(b)):
                if (prefix, k) in (("", "execution"), ("eval.", "transfer")):  # transfer sets only add work
                    continue
                out += diff(a.get(k), b.get(k), f"{prefix}{k}.")
            return out
        return [] if a == b else [prefix.rstrip(".")]

    return diff(prev, new)


def check_folder(spec: SweepSpec, sweep_dir: str | Path) -> None:
    """A sweep folder holds one spec: refuse to add another spec's cells (two teachers' rows, duplicate
    grid keys) to it; a rerun of the same spec resumes."""
    sweep_dir = Path(sweep_dir)
    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise ConfigError(f"{sweep_dir}: is a file, not a sweep folder; choose another --out")
    fields = spec_difference(spec, sweep_dir)
    if fields and "task_hash" in fields:
        prev = json.loads((sweep_dir / "spec.json").read_text()).get("task_hash") or "?"
        task = spec.task_obj
        raise ConfigError(f"{sweep_dir}: this sweep folder holds results for another task (hash {prev[:12]}), "
                          f"not {task.name!r} ({task.hash[:12]}); use another --out folder")
    if fields:
        shown = ", ".join(fields[:6]) + (f" (+{len(fields) - 6} more)" if len(fields) > 6 else "")
        raise ConfigError(f"{sweep_dir}: holds a sweep with a different spec (differs in {shown}); rerun with "
                          "the same spec to resume it, pass --new to start a new folder next to it, or choose "
                          "another --out")


def pending_cells(store: Store, cells: list[Cell], retry_failed: bool = True) -> list[Cell]:
    status = {c["cell_id"]: c["status"] for c in store.cells()}
    todo = []
    for c in cells:
        s = status.get(c.cell_id, "pending")
        if s == "done" or (s == "failed" and not retry_failed):
            continue
        todo.append(c)
    return todo
