"""Expand a sweep spec into cells, each the tail of a chain of content-addressed stage nodes.

A node's key hashes its stage name, the stage's version, its own settings and the keys of its
inputs, and nothing else. Two cells that need the same work therefore build the *same* node and the
second one finds it done:

- every cell shares the dataset, the teacher, and the single annotation pass over the largest
  training subset (smaller dataset sizes are prefixes of one stratified order, so they need no extra
  teacher forward pass);
- an iterative chain to 58% is ``prune(79%) -> distill -> prune(58%) -> distill``; its first two
  nodes are exactly the nodes of the 79% cell with the same settings, so they are computed once;
- a one-shot cell to the mildest target equals the iterative one (same nodes, same budget), so it
  costs nothing extra and still gets its own labelled result row;
- a pruned-but-undistilled row (``prune.evaluate``) evaluates the very prune node a one-shot chain to
  its target starts with (the teacher pruned to it), so it costs one evaluation and no pruning when
  the grid has one-shot cells (with an iterative-only grid, one prune of the teacher per target below
  the mildest, its importance scores cached).

The task enters at the root: the data node's settings hold the task itself, so its content hash is
part of every key below, two tasks never share a node, and each stage reads the task from its data
input (``task_of``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskdistill.cache import content_hash
from taskdistill.sweep.spec import PRUNED_METHOD, SweepSpec

# Bump a stage's version when its node semantics change, so old cached nodes are not reused.
# distill 2: blended supervision also trains on the answer-only rows (DistillConfig.label_mix).
STAGE_VERSIONS = {"data": 1, "pool": 1, "teacher": 1, "annotate": 1, "prune": 1, "distill": 2, "evaluate": 1,
                  "transfer": 1}  # transfer: a model scored on a transfer set (sweep/transfer.py)
STAGE_ORDER = ("data", "pool", "teacher", "annotate", "prune", "distill", "evaluate")


@dataclass(frozen=True)
class Node:
    """One unit of cached work. ``inputs`` are (role, node) pairs, e.g. ("student", prune_node)."""

    stage: str
    params: dict[str, Any]
    inputs: tuple[tuple[str, Node], ...] = ()
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if self.stage not in STAGE_VERSIONS:
            raise ValueError(f"unknown stage {self.stage!r}")
        key = content_hash(self.stage, STAGE_VERSIONS[self.stage], self.params,
                           [(role, n.key) for role, n in self.inputs])
        object.__setattr__(self, "key", f"{self.stage}-{key}")

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other.key == self.key

    def input(self, role: str) -> Node:
        for r, n in self.inputs:
            if r == role:
                return n
        raise KeyError(f"{self.key} has no input {role!r}")

    def ancestors(self) -> list[Node]:
        """Every node this one depends on, itself last, in an order where inputs come first."""
        seen: dict[str, Node] = {}

        def visit(n: Node) -> None:
            for _, p in n.inputs:
                visit(p)
            seen.setdefault(n.key, n)

        visit(self)
        return list(seen.values())


@dataclass(frozen=True)
class Cell:
    """One result row: the settings on the axes plus the evaluate node that produces its record."""

    settings: dict[str, Any]
    node: Node

    @property
    def cell_id(self) -> str:
        """Hash of the row's labels and of the work behind it (idempotent-insert key)."""
        return content_hash(self.settings, self.node.key)

    def label(self) -> str:
        s = self.settings
        if s["method"] == "teacher":
            return "teacher"
        if s["method"] == PRUNED_METHOD:
            return f"r={s['target']:.2f} pruned one-shot, not distilled"
        return (f"D={s['dataset_size']} r={s['target']:.2f} {s['method']}/{s['supervision']}/"
                f"{s['schedule']} seed={s['seed']}")


def data_identity(spec: SweepSpec) -> str:
    """What the data node's key must change with: the split files' bytes for ``data.path``, or the
    generated dataset's folder (named by a hash of its generation settings and sources) for a name."""
    if spec.data.path:
        from taskdistill.cache import file_hash

        folder = Path(spec.data.path).expanduser()
        files = [folder / f"{s}.parquet" for s in ("train", "validation", "test")]
        return content_hash([file_hash(f) if f.is_file() else f"missing:{f}" for f in files])
    from taskdistill.data.default import dataset_dir

    return dataset_dir(spec.data.name).name


def task_params(spec: SweepSpec) -> dict[str, Any]:
    """The task as node settings: its full definition (so a stage can rebuild it) and its hash."""
    task = spec.task_obj
    return {"name": task.name, "hash": task.hash, "definition": task.model_dump(mode="json")}


def _shared_nodes(spec: SweepSpec) -> dict[str, Node]:
    data = Node("data", {"name": spec.data.name, "path": spec.data.path, "identity": data_identity(spec),
                         "task": task_params(spec)})
    pool = Node("pool", {"max_size": max(spec.grid.dataset_size), "seed": spec.data.subsample_seed},
                (("data", data),))
    teacher = Node("teacher", {"base": spec.teacher.base, "prepare": spec.teacher.prepare.given()},
                   (("data", data),))
    annotate = Node("annotate", {"k": spec.annotate.k, "formats": sorted(spec.annotate.formats),
                                 "options": spec.annotate.options.model_dump(mode="json", exclude_unset=True)},
                    (("teacher", teacher), ("data", pool)))
    return {"data": data, "pool": pool, "teacher": teacher, "annotate": annotate}


def _evaluate(spec: SweepSpec, model: Node, data: Node) -> Node:
    return Node("evaluate", {"eval": spec.eval_settings()}, (("model", model), ("data", data)))


def _prune(spec: SweepSpec, shared: dict[str, Node], model: Node, target: float) -> Node:
    """``model`` pruned to ``target`` (of the teacher's parameters): the prune node of every chain."""
    return Node("prune", {"target": target, "strategy": spec.prune.strategy, "method": spec.prune.method,
                          "calib_n": spec.prune.calib_n,
                          "options": spec.prune.options.model_dump(mode="json", exclude_unset=True)},
                (("model", model), ("teacher", shared["teacher"]), ("data", shared["pool"])))


def _student_chain(spec: SweepSpec, shared: dict[str, Node], *, dataset_size: int, target: float,
                   method: str, supervision: str, schedule: str, seed: int) -> Node:
    steps = spec.iterative_chain(target) if schedule == "iterative" else [target]
    base_steps = spec.distill_steps(dataset_size)  # epochs x D / batch (or the spec's fixed steps)
    # One-shot gets the whole budget an iterative chain to the same target would spend.
    budget = base_steps if schedule == "iterative" else base_steps * len(spec.iterative_chain(target))
    distill_cfg = spec.distill_config()
    model = shared["teacher"]
    for step in steps:
        prune = _prune(spec, shared, model, step)
        model = Node("distill", {"method": method, "supervision": supervision, "seed": seed,
                                 "dataset_size": dataset_size, "steps": budget, "config": distill_cfg},
                     (("student", prune), ("teacher", shared["teacher"]), ("annotations", shared["annotate"]),
                      ("data", shared["pool"])))
    return model


def pruned_settings(target: float) -> dict[str, Any]:
    """The row labels of the teacher pruned one-shot to ``target`` and evaluated undistilled
    (``prune.evaluate``): no training data (dataset size None), no supervision, seed 0."""
    return {"dataset_size": None, "target": target, "method": PRUNED_METHOD, "supervision": "none",
            "schedule": "oneshot", "seed": 0}


def expand(spec: SweepSpec) -> list[Cell]:
    """All cells of the sweep, the teacher row first, then the pruned-but-undistilled rows
    (``prune.evaluate``), then the students, ordered so chain prefixes come first."""
    shared = _shared_nodes(spec)
    cells: list[Cell] = []
    if spec.teacher.evaluate:
        cells.append(Cell({"dataset_size": None, "target": 1.0, "method": "teacher", "supervision": "none",
                           "schedule": "none", "seed": 0},
                          _evaluate(spec, shared["teacher"], shared["data"])))
    g = spec.grid
    if spec.prune.evaluate:  # pruned, not distilled: the one-shot chain's first node, evaluated
        for t in g.target:
            cells.append(Cell(pruned_settings(t), _evaluate(spec, _prune(spec, shared, shared["teacher"], t),
                                                            shared["data"])))
    for d, m, s, seed, sched, t in itertools.product(g.dataset_size, g.method, g.supervision, g.seed,
                                                      g.schedule, g.target):
        settings = {"dataset_size": d, "target": t, "method": m, "supervision": s, "schedule": sched,
                    "seed": seed}
        tail = _student_chain(spec, shared, dataset_size=d, target=t, method=m, supervision=s,
                              schedule=sched, seed=seed)
        cells.append(Cell(settings, _evaluate(spec, tail, shared["data"])))
    return cells


def unique_nodes(cells: list[Cell]) -> dict[str, Node]:
    """Every distinct node the cells need (what the sweep computes at most once each)."""
    out: dict[str, Node] = {}
    for c in cells:
        for n in c.node.ancestors():
            out.setdefault(n.key, n)
    return out
