"""The sweep spec: which grid to run and the fixed settings of every stage.

A sweep is the cartesian product of six axes (``dataset_size``, ``target``, ``method``,
``supervision``, ``schedule``, ``seed``) plus one teacher row. Everything that is *not* an axis is a
fixed per-stage setting; those live in their own sections so that the content hash of, say, a pruned
student depends only on the settings that can change it (the annotation pass is shared by every cell,
the iterative 79% step is shared by every target below it).

Stage sections that belong to other stages (``teacher.prepare``, ``distill``, ``eval``) are kept as
plain mappings here and validated by that stage's own config model when the sweep is expanded, so a
typo still fails early and names its field, but this module does not have to mirror every option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from taskdistill.config import ConfigError, StrictModel, load_yaml

Method = Literal["logit", "lora"]
Supervision = Literal["label", "cot", "blended"]
Schedule = Literal["iterative", "oneshot"]

PRESETS = ("tiny", "quickstart", "paper")


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
    prepare: dict[str, Any] = Field(default_factory=dict, description="teacher.prepare config")
    evaluate: bool = Field(True, description="add the teacher's own result row (target 1.0)")


class DataSettings(StrictModel):
    name: str = "finheadlinemix-mini"
    path: str | None = Field(None, description="a split folder (train/validation/test parquet) instead of name")
    subsample_seed: int = Field(0, description="seed of the stratified nested order of the train rows")


class AnnotateSettings(StrictModel):
    """One teacher annotation pass over the largest training subset, shared by every cell."""

    k: int = Field(20, ge=1, description="top-k teacher logits kept per position")
    formats: list[Literal["label", "cot"]] = Field(default_factory=lambda: ["label", "cot"], min_length=1)
    options: dict[str, Any] = Field(default_factory=dict, description="extra keyword arguments of annotate()")


class PruneSettings(StrictModel):
    strategy: str = Field("combined", description="combined (depth+width), width or depth")
    method: str = Field("activation", description="importance method")
    calib_n: int = Field(32, ge=1, description="calibration headlines for importance scores")
    iterative_steps: list[float] | None = Field(
        None, description="targets an iterative chain passes through (default: the target axis)")
    options: dict[str, Any] = Field(default_factory=dict, description="extra keyword arguments of prune_model()")

    @field_validator("iterative_steps")
    @classmethod
    def _steps(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        for t in v:
            if not 0.0 < t < 1.0:
                raise ValueError(f"iterative steps are fractions in (0, 1), got {t}")
        return sorted(set(v), reverse=True)


class ExecutionSettings(StrictModel):
    executor: Literal["local", "ray"] = "local"
    workers: int = Field(1, ge=1, description="local worker processes (bounded by memory_gb)")
    memory_gb: float | None = Field(None, gt=0, description="memory budget for local workers (default: 80% of RAM)")
    ray_address: str | None = None
    threads: int = Field(2, ge=1, description="torch threads per worker")


class SweepSpec(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    grid: Grid
    teacher: TeacherSettings
    data: DataSettings = DataSettings()
    annotate: AnnotateSettings = AnnotateSettings()
    prune: PruneSettings = PruneSettings()
    distill: dict[str, Any] = Field(default_factory=dict, description="distill.config.DistillConfig fields; "
                                    "'steps' is the budget of ONE iterative step")
    eval: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of evaluate_model()")
    execution: ExecutionSettings = ExecutionSettings()

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

    def iterative_chain(self, target: float) -> list[float]:
        """Targets an iterative schedule prunes through on its way to ``target`` (mildest first)."""
        steps = self.prune.iterative_steps or self.grid.target
        return [t for t in steps if t >= target]

    def n_cells(self) -> int:
        g = self.grid
        n = (len(g.dataset_size) * len(g.target) * len(g.method) * len(g.supervision) * len(g.schedule)
             * len(g.seed))
        return n + (1 if self.teacher.evaluate else 0)


def configs_dir() -> Path:
    """The repository's ``configs/`` folder (presets are looked up there)."""
    return Path(__file__).resolve().parents[3] / "configs"


def preset_path(name: str) -> Path:
    path = configs_dir() / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}: no {path}; presets: {', '.join(PRESETS)}")
    return path


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep YAML; errors name the file and the field."""
    spec = load_yaml(path, SweepSpec)
    validate_stage_sections(spec, source=str(path))
    return spec


def _raise(source: str, section: str, exc) -> None:
    lines = [f"{source}: invalid config for SweepSpec:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"  field '{section}.{loc}': {err['msg']}")
    raise ConfigError("\n".join(lines)) from exc


AXIS_KEYS = ("method", "supervision", "seed")


def validate_stage_sections(spec: SweepSpec, source: str = "<spec>") -> None:
    """Check the free-form stage sections against their stage's own config model, so a typo in
    ``distill`` or ``teacher.prepare`` fails before any work starts and names its field."""
    from pydantic import ValidationError

    for key in AXIS_KEYS:
        if key in spec.distill:
            raise ConfigError(f"{source}: field 'distill.{key}': is a grid axis; set it under grid.{key}")
    checks = []
    try:
        from taskdistill.distill.config import DistillConfig

        checks.append(("distill", DistillConfig, spec.distill))
    except ImportError:  # stage not in this tree
        pass
    try:
        from taskdistill.teacher.config import GenerationConfig, TeacherConfig

        checks.append(("teacher.prepare", TeacherConfig, spec.teacher.prepare))
        if "gen" in spec.annotate.options:
            checks.append(("annotate.options.gen", GenerationConfig, spec.annotate.options["gen"]))
    except ImportError:
        pass
    for section, model, values in checks:
        try:
            model.model_validate(values)
        except ValidationError as exc:
            _raise(source, section, exc)
    try:
        import inspect

        from taskdistill.teacher.annotate import annotate
    except ImportError:
        return
    allowed = set(inspect.signature(annotate).parameters) - {"teacher_dir", "dataset_dir", "k", "formats", "quiet"}
    for key in spec.annotate.options:
        if key not in allowed:
            raise ConfigError(f"{source}: field 'annotate.options.{key}': not an option of annotate(); "
                              f"choose from {sorted(allowed)}")
