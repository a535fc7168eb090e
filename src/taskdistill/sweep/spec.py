"""The sweep spec: which grid to run and the fixed settings of every stage.

A sweep is the cartesian product of six axes (``dataset_size``, ``target``, ``method``,
``supervision``, ``schedule``, ``seed``) plus one teacher row (``teacher.evaluate``) and, with
``prune.evaluate``, one pruned-but-undistilled row per target. Everything that is *not* an axis is a
fixed per-stage setting; those live in their own sections so that the content hash of, say, a pruned
student depends only on the settings that can change it (the annotation pass is shared by every cell,
the iterative 79% step is shared by every target below it).

The task (``task:``, a built-in name or a task YAML; relative paths are read against the spec file)
is data the spec carries: its hash is part of the data node's key, so every node of the sweep moves
with it, and every stage receives it explicitly.

The training budget of a cell is a number of epochs over its ``dataset_size`` rows
(``distill.epochs``, default 1): steps = ceil(epochs x D / (batch_size x grad_accum)), so a larger D
really sees more data. ``distill.steps`` (a fixed number of steps whatever D is) is still accepted,
but then the data axis is confounded with training length; set one of the two, never both.

Each stage section IS that stage's own config model (``teacher.prepare``: ``TeacherConfig``;
``annotate.options``: ``AnnotateOptions``; ``prune``: ``PruneConfig``; ``distill``: ``DistillConfig``
less the axes, plus the budget; ``eval``: ``EvalConfig``), so an unknown key or a bad value fails when
the spec is read, naming the file and the field. A node's settings are the values the spec *gave*
(``exclude_unset``), as they were when these sections were plain mappings, so cache keys stay put;
``SweepSpec.to_json`` is the stored form that round-trips them.
"""

from __future__ import annotations

import math
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from taskdistill.config import ConfigError, StrictModel, load_yaml
from taskdistill.distill.config import DistillConfig
from taskdistill.evaluate.config import EvalConfig
from taskdistill.prune.config import PruneConfig
from taskdistill.task import BUILTIN, DEFAULT_TASK, Task, TaskError, load_task
from taskdistill.teacher.config import AnnotateOptions, TeacherConfig

Method = Literal["logit", "lora"]
Supervision = Literal["label", "cot", "blended"]
Schedule = Literal["iterative", "oneshot"]

PRESETS = ("tiny", "quickstart", "paper", "study")


class Grid(StrictModel):
    """The axes. Every combination is one cell (one result row)."""

    dataset_size: list[int] = Field(min_length=1, description="train examples used per cell (nested subsets)")
    target: list[float] = Field(min_length=1, description="student params / teacher params, in (0, 1)")
    method: list[Method] = Field(default_factory=lambda: ["logit"], min_length=1)
    supervision: list[Supervision] = Field(default_factory=lambda: ["label"], min_length=1)
    schedule: list[Schedule] = Field(default_factory=lambda: ["iterative"], min_length=1)
    seed: list[int] = Field(default_factory=lambda: [0], min_length=1)

    @field_validator("dataset_size")
    @classmethod
    def _sizes(cls, v: list[int]) -> list[int]:
        for n in v:
            if n < 1:
                raise ValueError(f"dataset sizes must be >= 1, got {n}")
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate dataset sizes in {v}")
        return sorted(v)

    @field_validator("target")
    @classmethod
    def _targets(cls, v: list[float]) -> list[float]:
        for t in v:
            if not 0.0 < t < 1.0:
                raise ValueError(f"targets are fractions of the teacher's parameters in (0, 1), got {t}")
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate targets in {v}")
        return sorted(v, reverse=True)

    @field_validator("method", "supervision", "schedule", "seed")
    @classmethod
    def _unique(cls, v: list) -> list:
        if len(set(v)) != len(v):
            raise ValueError(f"duplicate values in {v}")
        return v


class TeacherSettings(StrictModel):
    base: str = Field(description="model spec: registry name, checkpoint folder, tiny:<arch>")
    prepare: TeacherConfig = Field(default_factory=TeacherConfig, description="teacher.prepare config")
    evaluate: bool = Field(True, description="add the teacher's own result row (target 1.0)")


class DataSettings(StrictModel):
    name: str = "finheadlinemix-mini"
    path: str | None = Field(None, description="a split folder (train/validation/test parquet) instead of name")
    subsample_seed: int = Field(0, description="seed of the stratified nested order of the train rows")


class AnnotateSettings(StrictModel):
    """One teacher annotation pass over the largest training subset, shared by every cell."""

    k: int = Field(20, ge=1, description="top-k teacher logits kept per position")
    formats: list[Literal["label", "cot"]] = Field(default_factory=lambda: ["label", "cot"], min_length=1)
    options: AnnotateOptions = Field(default_factory=AnnotateOptions, description="the other settings of annotate()")


PRUNED_METHOD = "pruned"  # the method of a pruned-but-undistilled row (``prune.evaluate``)


class PruneSettings(PruneConfig):
    """``PruneConfig`` plus the chain an iterative schedule prunes through, and ``evaluate``: like
    ``teacher.evaluate``, a result row for this stage's own output, here the teacher pruned one-shot to
    each target with no distillation at all (what pruning alone costs, before distillation recovers or
    forgets anything). Those rows reuse the one-shot chain's prune node (one evaluation each, no extra
    pruning) and are labelled method ``pruned``, supervision ``none``, schedule ``oneshot``, no dataset
    size; they are listed beside the students but never fitted or compared as students."""

    iterative_steps: list[float] | None = Field(
        None, description="targets an iterative chain passes through (default: the target axis)")
    evaluate: bool = Field(False, description="add one result row per target: the teacher pruned one-shot to it, "
                           "evaluated with no distillation (method 'pruned')")

    @field_validator("iterative_steps")
    @classmethod
    def _steps(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        for t in v:
            if not 0.0 < t < 1.0:
                raise ValueError(f"iterative steps are fractions in (0, 1), got {t}")
        return sorted(set(v), reverse=True)


AXES = ("method", "supervision", "seed")


class DistillSettings(DistillConfig):
    """``DistillConfig`` fields fixed for every cell, plus the budget of ONE iterative step: ``epochs``
    (default 1) passes over the cell's D rows, or ``steps`` (fixed whatever D is). ``method``,
    ``supervision`` and ``seed`` are grid axes and may not be set here; the warm-up is checked against
    each cell's steps (``check_data``)."""

    # the axes: set per cell, never here (and never dumped)
    method: Literal["logit", "lora"] = Field("logit", exclude=True)
    supervision: Literal["label", "cot", "blended", "sft"] = Field("blended", exclude=True)
    seed: int = Field(0, exclude=True)
    steps: int | None = Field(None, ge=1, description="fixed optimizer steps per distillation (not with epochs)")
    epochs: float | None = Field(None, gt=0, description="passes over the cell's D rows per distillation")

    @model_validator(mode="after")
    def _check(self) -> DistillSettings:  # replaces DistillConfig._check: steps are known per cell only
        axes = [k for k in AXES if k in self.model_fields_set]
        if axes:
            raise PydanticCustomError("axis", "{axis} is a grid axis; set it under grid.{axis}", {"axis": axes[0]})
        if self.steps is not None and self.epochs is not None:
            raise PydanticCustomError("budget", "set either 'epochs' (budget grows with D) or 'steps' (fixed), "
                                      "not both")
        return self  # the rest (lora_targets for lora cells, warm-up < steps) is checked per cell

    def given(self) -> dict[str, Any]:
        """The fields the spec set, without the budget (the distill node's ``config``)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"steps", "epochs"})


class EvalSettings(EvalConfig):
    """``EvalConfig`` plus ``transfer``: labelled files every model is also scored on
    (``evaluate.transfer``; not an ``evaluate_model`` option, and not part of the evaluate node)."""

    transfer: list[dict[str, Any]] | None = None


class ExecutionSettings(StrictModel):
    executor: Literal["local", "ray"] = "local"
    workers: int = Field(1, ge=1, description="local worker processes (bounded by memory_gb)")
    memory_gb: float | None = Field(None, gt=0, description="memory budget for local workers (default: 80% of RAM)")
    ray_address: str | None = None
    threads: int = Field(2, ge=1, description="torch threads per worker")
    device: str = Field("auto", description="where every stage runs its models: auto (the GPU when torch sees "
                        "one, else the CPU), cpu, cuda or cuda:N; how cells run, not what they compute: not "
                        "part of any cache key (each result row records its device)")
    keep_models: Literal["all", "needed"] = Field(
        "all", description="all: every pruned and distilled model stays in the node cache; needed: a finished "
        "cell deletes those no unfinished cell of the sweep uses (rows, transfer scores and timings stay; "
        "the teacher always stays), for grids whose models do not fit on disk together")


class SweepSpec(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    task: str = Field(DEFAULT_TASK, description="a built-in task name or a task YAML path (relative to the "
                      "spec file)")
    grid: Grid
    teacher: TeacherSettings
    data: DataSettings = DataSettings()
    annotate: AnnotateSettings = AnnotateSettings()
    prune: PruneSettings = PruneSettings()
    distill: DistillSettings = Field(default_factory=DistillSettings, description="distill.config.DistillConfig "
                                     "fields plus 'epochs' (default 1): the budget of ONE iterative step, in "
                                     "passes over the cell's D rows; or 'steps' (fixed whatever D is)")
    eval: EvalSettings = Field(default_factory=EvalSettings, description="evaluate.config.EvalConfig fields "
                               "(evaluate_model()), plus 'transfer': labelled files every model is also scored "
                               "on (evaluate.transfer)")
    execution: ExecutionSettings = ExecutionSettings()

    def eval_settings(self) -> dict[str, Any]:
        """The ``eval`` section without ``transfer`` (the evaluate node's settings: transfer sets are scored
        by their own nodes, so listing one never changes the synthetic evaluation's key)."""
        return self.eval.model_dump(mode="json", exclude_unset=True, exclude={"transfer"})

    @cached_property
    def transfer_sets(self):
        """``eval.transfer`` as ``evaluate.transfer.TransferSet`` objects (empty when none)."""
        from taskdistill.evaluate.transfer import parse_sets

        return parse_sets(self.eval.transfer)

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON, each stage section as the spec gave it (the form stored in a sweep folder and
        sent to workers): ``SweepSpec.model_validate(spec.to_json())`` builds the same nodes and keys."""
        raw = self.model_dump(mode="json")
        raw["teacher"]["prepare"] = self.teacher.prepare.given()
        raw["annotate"]["options"] = self.annotate.options.model_dump(mode="json", exclude_unset=True)
        raw["prune"]["options"] = self.prune.options.model_dump(mode="json", exclude_unset=True)
        if not self.prune.evaluate:  # off, the stored spec stays as before the switch existed (resumable)
            raw["prune"].pop("evaluate")
        raw["distill"] = self.distill.model_dump(mode="json", exclude_unset=True)
        raw["eval"] = self.eval.model_dump(mode="json", exclude_unset=True)
        return raw

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        # the name is the default folder runs/<name>: it must stay one folder inside runs/
        if v.startswith(".") or ".." in v:
            raise ValueError(f"{v!r} is not a usable sweep name: it becomes the folder runs/<name>, so it may not "
                             "start with '.' or contain '..'")
        return v

    @model_validator(mode="after")
    def _chain(self) -> SweepSpec:
        steps = self.prune.iterative_steps
        if steps is not None and "iterative" in self.grid.schedule:
            missing = [t for t in self.grid.target if t not in steps]
            if missing:
                raise ValueError(f"prune.iterative_steps {steps} must contain every target of an iterative "
                                 f"schedule; missing {missing}")
        if "cot" in self.grid.supervision or "blended" in self.grid.supervision:
            if "cot" not in self.annotate.formats:
                raise ValueError("supervision cot/blended needs teacher traces: add 'cot' to annotate.formats")
        return self

    # -- the task -----------------------------------------------------------------------------------
    @cached_property
    def task_obj(self) -> Task:
        """The task this sweep distils for (a built-in or the YAML file ``task`` points to)."""
        return load_task(self.task)

    # -- the training budget ------------------------------------------------------------------------
    @property
    def budget_unit(self) -> Literal["epochs", "steps"]:
        """``epochs`` (steps grow with D; the default) or ``steps`` (fixed, the old behaviour)."""
        return "steps" if self.distill.steps is not None else "epochs"

    def distill_steps(self, dataset_size: int) -> int:
        """Optimizer steps of ONE iterative distillation step of a cell with ``dataset_size`` rows."""
        if self.distill.steps is not None:
            return self.distill.steps
        epochs = self.distill.epochs if self.distill.epochs is not None else 1.0
        per_step = self.distill.batch_size * self.distill.grad_accum
        return max(1, math.ceil(epochs * dataset_size / per_step))

    def distill_config(self) -> dict[str, Any]:
        """The ``distill`` section as given, without the budget keys (those are set per cell)."""
        return self.distill.given()

    def cell_config(self, *, method: str, supervision: str, seed: int, steps: int) -> DistillConfig:
        """The ``DistillConfig`` of one distillation of a cell."""
        return DistillConfig(**self.distill_config(), method=method, supervision=supervision, seed=seed,
                             steps=steps)

    def iterative_chain(self, target: float) -> list[float]:
        """Targets an iterative schedule prunes through on its way to ``target`` (mildest first)."""
        steps = self.prune.iterative_steps or self.grid.target
        return [t for t in steps if t >= target]

    def n_cells(self) -> int:
        g = self.grid
        n = (len(g.dataset_size) * len(g.target) * len(g.method) * len(g.supervision) * len(g.schedule)
             * len(g.seed))
        return n + (1 if self.teacher.evaluate else 0) + (len(g.target) if self.prune.evaluate else 0)


def presets_dir() -> Path:
    """The installed presets (package data ``taskdistill/presets``; the repository's ``configs/`` links
    here)."""
    return Path(str(resources.files("taskdistill.presets")))


def preset_path(name: str) -> Path:
    path = presets_dir() / f"{name}.yaml"
    if name not in PRESETS or not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return path


def load_spec(path: str | Path, *, task: str | None = None, data: str | None = None) -> SweepSpec:
    """Read and validate a sweep YAML; errors name the file and the field.

    A relative ``task`` path or ``data.path`` is taken relative to the spec file, and the spec is
    checked against its data: a dataset size larger than the training rows available is an error
    here, before any work starts. ``task`` / ``data`` replace the spec's task and ``data.path``
    (relative to the working directory); with another task the sweep's name gets the task's name."""
    path = Path(path)
    spec = load_yaml(path, SweepSpec)
    spec = resolve_paths(spec, path.parent, source=str(path))
    if task is not None or data is not None:
        raw = spec.to_json()
        if task is not None:
            raw["task"] = task
        if data is not None:
            raw["data"] = {**raw["data"], "path": data}
        spec = resolve_paths(SweepSpec.model_validate(raw), Path.cwd(), source="--task/--data")
        if task is not None:
            spec = spec.model_copy(update={"name": f"{spec.name}-{spec.task_obj.name}"})
        if data is not None:
            spec = _label_only_without_rationales(spec)
    check_data(spec, source=str(path))
    validate_stage_sections(spec, source=str(path))
    return _resolve_transfer(spec, source=str(path), other_task=task is not None)


def _resolve_transfer(spec: SweepSpec, source: str, other_task: bool = False) -> SweepSpec:
    """Transfer-set paths made absolute against the working directory; a missing required file refused.
    ``other_task`` (``--task``): sets labelled for a task that does not fit the new one are dropped (the
    description says so) instead of refused."""
    from taskdistill.evaluate.transfer import parse_sets, resolve_sets

    if spec.eval.transfer is None:
        return spec
    sets, dropped = resolve_sets(parse_sets(spec.eval.transfer, source), Path.cwd(), spec.task_obj, source,
                                 drop_foreign=other_task)
    raw = spec.to_json()
    raw["eval"]["transfer"] = [s.model_dump(mode="json", exclude_defaults=True) for s in sets]
    if dropped:
        raw["description"] += f" (transfer sets {', '.join(dropped)} skipped: labelled for another task)"
    return SweepSpec.model_validate(raw)


def _label_only_without_rationales(spec: SweepSpec) -> SweepSpec:
    """A preset run on a user's dataset with no reasoning traces (no ``rationale`` column, or an empty one)
    keeps only its ``label`` cells: the teacher learns the ``<think>`` format from the gold rationales, so
    without them its traces cannot be checked and ``cot``/``blended`` cells would have no examples. The
    description says so; a spec that asks only for trace supervision is refused."""
    import pandas as pd

    train = Path(spec.data.path) / "train.parquet"
    try:
        df = pd.read_parquet(train)
    except Exception:  # noqa: BLE001  (check_data names an unreadable split later, with its own message)
        return spec
    has = "rationale" in df.columns and df["rationale"].fillna("").astype(str).str.strip().ne("").any()
    traced = [s for s in spec.grid.supervision if s != "label"]
    if has or not traced:
        return spec
    if "label" not in spec.grid.supervision:
        raise ConfigError(f"{train}: no rationale column, but the spec asks only for {traced} supervision, which "
                          "needs reasoning traces; add rationales (`data import --map rationale=COL`) or use label")
    grid = spec.grid.model_copy(update={"supervision": ["label"]})
    note = f" (label supervision only: {train.parent.name} has no rationales for {'/'.join(traced)})"
    return spec.model_copy(update={"grid": grid, "description": spec.description + note})


def resolve_paths(spec: SweepSpec, base: Path, source: str = "<spec>") -> SweepSpec:
    """Make ``task`` (when it is a file) and ``data.path`` absolute, relative to ``base``; load the task."""
    update: dict[str, Any] = {}
    if spec.task not in BUILTIN:
        p = Path(spec.task).expanduser()
        update["task"] = str((base / p).resolve() if not p.is_absolute() else p)
    if spec.data.path:
        p = Path(spec.data.path).expanduser()
        if not p.is_absolute():
            update["data"] = spec.data.model_copy(update={"path": str((base / p).resolve())})
    if update:
        spec = SweepSpec.model_validate({**spec.to_json(),
                                         **{k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else v)
                                            for k, v in update.items()}})
    try:
        spec.task_obj  # noqa: B018  (load and validate now: a bad task file fails before any work)
    except TaskError as exc:
        raise ConfigError(f"{source}: field 'task': {exc}") from exc
    return spec


def available_train_rows(spec: SweepSpec) -> tuple[int, str]:
    """(number of training rows the cells can draw from, where that number comes from).

    ``data.path``: the rows of its ``train.parquet`` (read from the parquet footer); the folder's
    ``task.yaml``, when it has one, must be the spec's task. A built-in task's generated dataset: its
    exact rows when it is already built, else the generator's upper bound (generated size minus the
    validation and test rows per class)."""
    import pyarrow.parquet as pq

    task = spec.task_obj
    if spec.data.path:
        from taskdistill.data.taskfile import folder_task

        folder = Path(spec.data.path)
        train = folder / "train.parquet"
        if not train.is_file():
            raise ConfigError(f"data.path {folder}: no train.parquet (a folder made by `taskdistill data import` "
                              "holds train/validation/test.parquet)")
        try:
            folder_task(folder, task)
        except TaskError as exc:
            raise ConfigError(f"data.path: {exc}") from exc
        return pq.read_metadata(train).num_rows, str(train)
    from taskdistill.data.default import PRESETS as DATA_PRESETS
    from taskdistill.data.default import dataset_dir

    root = load_task(task.derive.task) if task.derive else task
    if task.name not in BUILTIN:
        raise ConfigError(f"task {task.name!r} is not built in, so it has no default dataset: set data.path to a "
                          "folder made by `taskdistill data import FILE --task ... --out DIR`")
    if spec.data.name not in DATA_PRESETS or DATA_PRESETS[spec.data.name][0] != root.name:
        known = [n for n, (t, _) in DATA_PRESETS.items() if t == root.name]
        raise ConfigError(f"data.name {spec.data.name!r} is not a generated dataset of task {root.name!r}; "
                          f"known: {', '.join(known) or 'none'}")
    built = dataset_dir(spec.data.name) / "train.parquet"
    if built.is_file():
        return pq.read_metadata(built).num_rows, str(built)
    cfg = DATA_PRESETS[spec.data.name][1]
    bound = cfg.size - (cfg.test_per_class + cfg.val_per_class) * root.n_classes
    return bound, f"{spec.data.name} (at most {cfg.size:,} generated rows less the validation/test rows)"


def check_data(spec: SweepSpec, source: str = "<spec>") -> None:
    """Reject a grid whose largest dataset size exceeds the training rows available."""
    n, where = available_train_rows(spec)
    big = [d for d in spec.grid.dataset_size if d > n]
    if big:
        raise ConfigError(f"{source}: field 'grid.dataset_size': {big} exceed the {n:,} training rows of {where}; "
                          "use sizes up to that, or a larger dataset (`taskdistill data generate --size N --out "
                          "DIR`, then data.path: DIR)")
    for d in spec.grid.dataset_size:
        steps = spec.distill_steps(d)
        warm = spec.distill.warmup_steps
        if steps > 1 and warm >= steps:
            raise ConfigError(f"{source}: field 'distill.warmup_steps': {warm} warmup steps but a cell with "
                              f"D={d} trains {steps} steps per distillation ({spec.budget_unit}); lower it")


def validate_stage_sections(spec: SweepSpec, source: str = "<spec>") -> None:
    """Check what the section models cannot check alone: the ``distill`` section with each grid method
    and supervision and the smallest cell's steps makes a valid ``DistillConfig``."""
    from pydantic import ValidationError

    steps = spec.distill_steps(min(spec.grid.dataset_size))
    for method in spec.grid.method:
        for supervision in spec.grid.supervision:
            try:
                spec.cell_config(method=method, supervision=supervision, seed=spec.grid.seed[0], steps=steps)
            except ValidationError as exc:
                parts = [f"field 'distill.{'.'.join(str(p) for p in e['loc']) or '<root>'}': {e['msg']}"
                         for e in exc.errors()]
                raise ConfigError(f"{source}: invalid SweepSpec: {'; '.join(parts)} (cells with method {method}, "
                                  f"supervision {supervision}, {steps} steps)") from exc


def teacher_weight_bytes(spec: SweepSpec) -> int | None:
    """Bytes of the teacher's weight files (safetensors, else .bin; 0 for a folder without either), or None
    where the teacher is not on this machine (an unknown name, a folder elsewhere)."""
    try:
        from taskdistill.models import resolve_model_dir

        d = resolve_model_dir(spec.teacher.base, quiet=True)
    except Exception:  # noqa: BLE001  (callers fall back to an estimate or leave the size out)
        return None
    return sum(f.stat().st_size for f in d.glob("*.safetensors")) or sum(f.stat().st_size for f in d.glob("*.bin"))
