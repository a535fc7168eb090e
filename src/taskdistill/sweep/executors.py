"""Where cells run: in this process, in N local worker processes, or as Ray tasks.

All three call the same ``run_cell``; they differ only in how cells are handed out. Workers share
work through the content-addressed node cache and its per-node locks, so two cells that need the
same 79% student never compute it twice, whichever worker gets there first. A cell is handed out only
when no running cell needs the same unfinished node (``CellQueue``), so the stages of an iterative chain
do not hold a second worker while the stage before them runs. For Ray on several
machines, ``TASKDISTILL_HOME`` and the sweep folder must be on a filesystem every node sees.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from rich.console import Console

from taskdistill.cache import ENV_HOME, home
from taskdistill.progress import make_progress
from taskdistill.sweep.dag import Cell, Node
from taskdistill.sweep.runner import (
    DEFAULT_STAGES,
    DEVICE_ENV,
    THREADS_ENV,
    load_stages,
    pending_cells,
    read_node,
    register,
    run_cell,
)
from taskdistill.sweep.spec import SweepSpec, teacher_weight_bytes

QUIET_ENV = "TASKDISTILL_QUIET"  # read by taskdistill.sweep.stages.RealStages


def total_memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return 8.0


def estimate_worker_gb(spec: SweepSpec) -> float:
    """Peak memory of one worker: a full fine-tune holds weights, grads, two Adam moments and the
    teacher (~5 copies of the teacher in fp32) plus activations; measured 4.3 GB for SmolLM2-135M."""
    weights = teacher_weight_bytes(spec)
    if weights is None:  # unknown teacher: assume a SmolLM2-sized one
        return 4.5
    return max(0.5, 6 * weights / 2**30 + 0.8)


def plan_workers(spec: SweepSpec, workers: int, memory_gb: float | None) -> int:
    """How many local workers fit: at most ``workers``, at most budget / per-worker estimate."""
    budget = memory_gb if memory_gb is not None else 0.8 * total_memory_gb()
    return max(1, min(workers, int(budget // estimate_worker_gb(spec))))


def _cell_task(spec_json: dict[str, Any], sweep_dir: str, cell_id: str, stages_ref: str, home_dir: str,
               threads: int, device: str = "auto") -> tuple[str, str]:
    """Entry point of a worker process / Ray task: run one cell by id."""
    os.environ[ENV_HOME] = home_dir
    os.environ[DEVICE_ENV] = device  # RealStages puts its models there
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Stages that use torch read this (RealStages calls torch.set_num_threads); importing torch here
    # would cost every worker seconds even when its stages never need it.
    os.environ[THREADS_ENV] = str(threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    from taskdistill.sweep.dag import expand
    from taskdistill.sweep.store import Store

    spec = SweepSpec.model_validate(spec_json)
    cell = next(c for c in expand(spec) if c.cell_id == cell_id)
    return cell_id, run_cell(spec, cell, Store(sweep_dir), load_stages(stages_ref))


EXECUTORS = ("local", "ray")


def check_run(spec: SweepSpec, sweep_dir: str | Path, *, executor: str | None = None, workers: int | None = None,
              memory_gb: float | None = None, stages: str = DEFAULT_STAGES, device: str | None = None) -> None:
    """Everything a sweep run needs, checked before anything is written: the executor and its sizes,
    the sweep folder (it holds this spec or none) and, with the real stages, the teacher model."""
    from taskdistill.checks import check_range
    from taskdistill.config import ConfigError
    from taskdistill.sweep.runner import check_folder

    if executor is not None and executor not in EXECUTORS:
        raise ConfigError(f"--executor: unknown executor {executor!r}; choose local or ray")
    check_range("--workers", workers, min=1)
    check_range("--memory-gb", memory_gb, min=0, min_open=True)
    check_folder(spec, sweep_dir)
    if (executor or spec.execution.executor) == "local":  # on Ray the workers' machines decide
        from taskdistill.models import DeviceError, resolve_device

        try:
            resolve_device(device or spec.execution.device)
        except DeviceError as exc:
            raise ConfigError(f"{'--device' if device else 'field execution.device'}: {exc}") from None
    if stages == DEFAULT_STAGES:
        from taskdistill.errors import TaskdistillError
        from taskdistill.models import resolve_model_dir

        try:
            resolve_model_dir(spec.teacher.base, quiet=True)
        except TaskdistillError as exc:
            raise ConfigError(f"field 'teacher.base': {exc}") from None


def failed_cells(sweep_dir: str | Path) -> list[tuple[str, str]]:
    """(cell label, last line of its error) of every failed cell of a sweep folder."""
    from taskdistill.sweep.store import Store

    return [(c["label"], ((c["error"] or "").strip().splitlines() or ["?"])[-1])
            for c in Store(sweep_dir, create=False).cells() if c["status"] == "failed"]


def run_sweep(spec: SweepSpec, sweep_dir: str | Path, *, executor: str | None = None, workers: int | None = None,
              memory_gb: float | None = None, address: str | None = None, stages: str = DEFAULT_STAGES,
              retry_failed: bool = True, quiet: bool = False, device: str | None = None) -> dict[str, int]:
    """Run every cell not done yet; return counts of done / skipped / failed cells in this call.

    Checks everything first (``check_run``) and holds the sweep folder's lock while it runs: a second
    ``sweep run`` on the same folder is refused, naming this one. ``device`` overrides the spec's
    ``execution.device`` (where the stages run their models; never part of a cache key)."""
    check_run(spec, sweep_dir, executor=executor, workers=workers, memory_gb=memory_gb, stages=stages,
              device=device)
    device = device or spec.execution.device
    with _env(DEVICE_ENV, device):  # this process's stages (shared nodes, transfer) and local workers read it
        return _locked_run(spec, sweep_dir, executor=executor, workers=workers, memory_gb=memory_gb,
                           address=address, stages=stages, retry_failed=retry_failed, quiet=quiet, device=device)


@contextmanager
def _env(name: str, value: str):
    """``os.environ[name] = value`` for the block, then as it was."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _locked_run(spec: SweepSpec, sweep_dir: str | Path, *, executor, workers, memory_gb, address, stages,
                retry_failed, quiet, device) -> dict[str, int]:
    from taskdistill.cache import output_lock

    with output_lock(sweep_dir):
        counts = _run_sweep(spec, sweep_dir, executor=executor, workers=workers, memory_gb=memory_gb,
                            address=address, stages=stages, retry_failed=retry_failed, quiet=quiet, device=device)
        from taskdistill.sweep.transfer import run_transfer

        # every finished model on every transfer set (cached per model x file: only new pairs cost)
        run_transfer(spec, sweep_dir, stages, console=Console(stderr=True, quiet=quiet))
        return counts


def _run_sweep(spec: SweepSpec, sweep_dir: str | Path, *, executor: str | None, workers: int | None,
               memory_gb: float | None, address: str | None, stages: str, retry_failed: bool,
               quiet: bool, device: str | None = "auto") -> dict[str, int]:
    ex = spec.execution
    executor = executor or ex.executor
    workers = workers or ex.workers
    memory_gb = memory_gb if memory_gb is not None else ex.memory_gb
    address = address or ex.ray_address
    console = Console(stderr=True, quiet=quiet)
    if quiet:  # stage implementations (and worker processes, which inherit it) read this
        os.environ[QUIET_ENV] = "1"
    store, cells = register(spec, sweep_dir)
    if spec.transfer_sets:  # recorded now, so an export mid-run shows the scores cells made so far
        from taskdistill.sweep.transfer import found_sets

        store.set_meta("transfer", found_sets(spec)[0])
    todo = pending_cells(store, cells, retry_failed=retry_failed)
    counts = {"done": 0, "skipped": 0, "failed": 0}
    total = len(cells)
    already = total - len(todo)
    if not todo:
        console.print(f"sweep {spec.name}: all {total} cells done")
        return counts
    where = executor
    if executor == "local":
        from taskdistill.models import resolve_device

        resolved = str(resolve_device(device))
        where += f"; models on {resolved}" + (f" (execution.device {device})" if device != resolved else "")
    console.print(f"sweep {spec.name}: {len(todo)} of {total} cells to run ({where})")

    if executor == "local" and workers == 1:
        store.set_meta("workers", 1)
        stage_impl = load_stages(stages)
        failed: dict[str, str] = {}
        with make_progress(info="counts", console=console) as prog:
            task = prog.add_task("cells", total=total, completed=already, counts="")
            for cell in todo:
                prog.update(task, description=cell.label())

                def on_stage(node: Node, event: str, _cell: Cell = cell) -> None:
                    if event == "start":
                        prog.update(task, description=f"{_cell.label()} :: {node.stage}")

                counts[run_cell(spec, cell, store, stage_impl, on_stage=on_stage, failed=failed)] += 1
                prog.update(task, advance=1, counts=_fmt(counts))
        return counts

    spec_json = spec.to_json()  # the workers rebuild the same nodes (and cell ids) from it
    args = [(spec_json, str(sweep_dir), c.cell_id, stages, str(home()), ex.threads, device) for c in todo]
    if executor == "local":
        n = plan_workers(spec, workers, memory_gb)
        console.print(f"{n} local worker process(es) (asked {workers}, memory budget "
                      f"{memory_gb or 0.8 * total_memory_gb():.1f} GB, ~{estimate_worker_gb(spec):.1f} GB each)")
        store.set_meta("workers", n)  # `sweep status` divides its ETA by it
        if n > 1:
            run_shared_first(todo, store, stages, n * ex.threads, console)
        queue = CellQueue(todo)
        by_id = {a[2]: a for a in args}
        with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn")) as pool, \
                make_progress(info="counts", console=console) as prog:
            task = prog.add_task("cells", total=total, completed=already, counts="")
            futures: dict[Any, str] = {}
            while True:
                while len(futures) < n and (cell := queue.take()) is not None:
                    futures[pool.submit(_cell_task, *by_id[cell.cell_id])] = cell.cell_id
                if not futures:
                    break
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for f in finished:
                    queue.finish(futures.pop(f))
                    counts[f.result()[1]] += 1
                    prog.update(task, advance=1, counts=_fmt(counts))
        return counts
    if executor == "ray":
        return _run_ray(todo, args, address, workers, console, total, already, counts, store)
    raise AssertionError(f"unknown executor {executor!r}")  # check_run refused it


class CellQueue:
    """Hands out pending cells, in order, skipping any that needs an unfinished node a running cell also
    needs: that cell would hold a worker while it waits on the node's lock (the next stage of an iterative
    chain waits for the one before), so a later independent cell runs first. ``take`` returns None when
    every waiting cell is blocked that way; a cell that finishes unblocks them. With nothing running,
    nothing is blocked, so every cell is handed out."""

    def __init__(self, cells: list[Cell], is_done: Callable[[Node], bool] | None = None):
        self.waiting = list(cells)
        self.running: dict[str, set[str]] = {}
        self.is_done = is_done or (lambda node: read_node(node) is not None)
        self._done: set[str] = set()  # nodes seen finished: not read again at every hand-out

    def _needs(self, cell: Cell) -> set[str]:
        needs = set()
        for n in cell.node.ancestors():
            if n.key in self._done:
                continue
            if self.is_done(n):
                self._done.add(n.key)
            else:
                needs.add(n.key)
        return needs

    def take(self) -> Cell | None:
        busy = set().union(*self.running.values())
        for i, cell in enumerate(self.waiting):
            needs = self._needs(cell)
            if not needs & busy:
                del self.waiting[i]
                self.running[cell.cell_id] = needs
                return cell
        return None

    def finish(self, cell_id: str) -> None:
        self.running.pop(cell_id, None)


def shared_nodes(cells: list[Cell]) -> list[Node]:
    """The nodes every student of ``cells`` needs (every cell where none trains): the dataset, the teacher,
    its annotations, inputs first; never an evaluation."""
    students = [c for c in cells if any(n.stage == "distill" for n in c.node.ancestors())]
    cells = students or cells
    common: set[str] | None = None
    for c in cells:
        keys = {n.key for n in c.node.ancestors()}
        common = keys if common is None else common & keys
    return [n for n in cells[0].node.ancestors() if n.key in (common or set()) and n.stage != "evaluate"] if cells else []


def run_shared_first(cells: list[Cell], store, stages: str, threads: int, console: Console) -> None:
    """Compute the nodes every pending cell needs in this process, with every worker's threads, before the
    workers start: otherwise one worker computes them on its own threads while the others wait on their
    locks. The results do not depend on the thread count (docs/reproducibility.md). A failing node is left to
    the cells, which record it."""
    from taskdistill.sweep.runner import NodeRunner, read_node

    todo = [n for n in shared_nodes(cells) if read_node(n) is None]
    if not todo:
        return
    console.print(f"first the stages every cell needs ({', '.join(n.stage for n in todo)}), with {threads} "
                  "torch threads")
    with _env(THREADS_ENV, str(threads)):
        try:
            runner = NodeRunner(load_stages(stages), store)
            for node in todo:
                runner.ensure(node)
        except Exception as exc:  # noqa: BLE001  (the cells retry it and store the traceback)
            console.print(f"[yellow]{type(exc).__name__}: {exc}[/] (the cells that need it will record the "
                          "failure)")


def _run_ray(todo, args, address, workers, console, total, already, counts, store) -> dict[str, int]:
    try:
        import ray
    except ImportError as exc:
        from taskdistill.config import ConfigError

        raise ConfigError("--executor ray: needs ray; pip install 'taskdistill[ray]'") from exc
    started_here = not ray.is_initialized()
    if started_here:
        env = {ENV_HOME: str(home()), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        if address is None:  # a local instance: let its workers import what this process imports
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "include_dashboard": False,
                                  "log_to_driver": False}
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=max(1, workers), **kwargs)
    try:
        task_fn = ray.remote(num_cpus=1, max_retries=0)(_cell_task)
        slots = max(1, int(ray.cluster_resources().get("CPU", workers)))  # one CPU per task
        store.set_meta("workers", slots)
        queue, by_id = CellQueue(todo), {a[2]: a for a in args}
        pending: dict[Any, str] = {}
        with make_progress(info="counts", console=console) as prog:
            task = prog.add_task("cells (ray)", total=total, completed=already, counts="")
            while True:
                while len(pending) < slots and (cell := queue.take()) is not None:
                    pending[task_fn.remote(*by_id[cell.cell_id])] = cell.cell_id
                if not pending:
                    break
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    queue.finish(pending.pop(ref))
                    counts[ray.get(ref)[1]] += 1
                    prog.update(task, advance=1, counts=_fmt(counts))
    finally:
        if started_here:
            ray.shutdown()
    return counts


def _fmt(counts: dict[str, int]) -> str:
    return " ".join(f"{k} {v}" for k, v in counts.items() if v)
