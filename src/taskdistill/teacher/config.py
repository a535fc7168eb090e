"""Settings of the teacher stage: preparing ("correcting") the teacher, and annotating a dataset with it.

Every field that can change the prepared weights or the annotations is part of the cache key, so two
runs with equal settings share one folder and a changed setting never silently reuses stale output.

The teacher is trained by the distillation trainer (plain cross-entropy, supervision ``sft``), so its
training settings ARE a ``DistillConfig`` (``TeacherConfig.train``); ``TeacherConfig`` adds only what
is the teacher's own: the mix of prompt formats and the before/after evaluation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from taskdistill.config import StrictModel
from taskdistill.distill.config import DistillConfig

POLICIES = ("keep", "drop", "relabel")
BACKENDS = ("local", "openai")

# Where the teacher's training recipe differs from a student's (DistillConfig's own defaults): plain
# cross-entropy on the targets, a higher learning rate, and a checkpoint every 10 steps.
TEACHER_TRAIN_DEFAULTS: dict[str, Any] = {"supervision": "sft", "lr": 3e-4, "checkpoint_every": 10}
TRAIN_FIELDS = frozenset(DistillConfig.model_fields)
# The training fields the teacher config had before it was composed of a DistillConfig; with their
# values (and nothing else of ``train``) at the teacher defaults, ``TeacherConfig.key_view`` gives the
# same dict as then, so prepared teachers keep their cache keys.
_LEGACY_TRAIN = ("method", "steps", "batch_size", "grad_accum", "lr", "warmup_steps", "min_lr", "weight_decay",
                 "max_length", "lora_r", "lora_alpha", "seed", "checkpoint_every")
_LEGACY_ORDER = ("method", "steps", "batch_size", "grad_accum", "lr", "warmup_steps", "min_lr", "weight_decay",
                 "max_length", "cot_fraction", "lora_r", "lora_alpha", "seed", "checkpoint_every", "eval_splits",
                 "eval_limit", "before_limit", "cot_eval_limit", "eval_batch_size", "heldout_examples")


class TeacherConfig(StrictModel):
    """How the base model is fine-tuned into a competent teacher, and how it is scored before/after.

    ``train`` is the trainer's ``DistillConfig`` (supervision ``sft``; teacher defaults: lr 3e-4, a
    checkpoint every 10 steps, everything else as for a student). Its fields may also be written at
    the top level (``steps: 220`` for ``train: {steps: 220}``), as the presets and
    ``teacher prepare --config`` files do; a field given both ways is an error. A warm-up of at least
    ``steps`` is shortened to ``steps - 1`` (short test runs keep the default warm-up of 10).

    The defaults are the settings of the real SmolLM2-135M run on finheadlinemix-mini (see
    docs/teacher.md); they fit ~40 minutes on 2 shared CPU cores.
    """

    train: DistillConfig = Field(default_factory=lambda: DistillConfig(**TEACHER_TRAIN_DEFAULTS),
                                 description="the trainer's settings (supervision sft)")
    # Share of the training examples in the `cot` format (gold rationale + label); the rest are
    # `label`. 0.5 = every train row once in each format. The teacher must be fluent in both: label
    # mode is how it is scored (exact and cheap), cot mode is how it writes traces for students.
    # 0.25 leans to the shorter label examples (~58 vs ~88 tokens): the step budget is CPU-bound.
    cot_fraction: float = Field(0.25, ge=0.0, le=1.0)
    # In-domain metrics before and after, on a fixed subset of these splits (label scoring mode).
    eval_splits: tuple[str, ...] = ("test",)
    eval_limit: int | None = Field(None, ge=1)
    # The base model is near chance zero-shot; a smaller seeded subset is enough to show that
    # (None = the same rows as after training).
    before_limit: int | None = Field(105, ge=1)
    # Headlines scored in cot mode (greedy trace, then labels) after training; 0 = skip (generation
    # is ~30 tok/s on CPU).
    cot_eval_limit: int = Field(20, ge=0)
    eval_batch_size: int = Field(16, ge=1)
    # Validation rows (label format) the trainer reports held-out cross-entropy on, before and after.
    heldout_examples: int = Field(32, ge=0)

    @model_validator(mode="wrap")
    @classmethod
    def _gather_train(cls, raw: Any, handler) -> TeacherConfig:
        """Move top-level training fields into ``train`` over the teacher defaults, and shorten a warm-up
        of ``steps`` or more. ``train`` then counts as set only in the fields the input named, so
        ``model_dump(exclude_unset=True)`` (and ``given()``) return what was written, not the defaults."""
        if not isinstance(raw, dict) or isinstance(raw.get("train"), DistillConfig) \
                or not isinstance(raw.get("train", {}), dict):
            return handler(raw)  # a whole DistillConfig keeps its own values; a bad type: pydantic says so
        raw = dict(raw)
        train = dict(raw.get("train", {}))
        flat = {k: raw.pop(k) for k in list(raw) if k in TRAIN_FIELDS}
        both = sorted(k for k in flat if k in train and train[k] != flat[k])
        if both:
            raise ValueError(f"{', '.join(both)}: given both at the top level and under train")
        given = {**train, **flat}
        merged = {**TEACHER_TRAIN_DEFAULTS, **given}
        steps = merged.get("steps", DistillConfig.model_fields["steps"].default)
        warm = merged.get("warmup_steps", DistillConfig.model_fields["warmup_steps"].default)
        if isinstance(steps, int) and isinstance(warm, int) and warm >= steps:
            merged["warmup_steps"] = max(0, steps - 1)
        out = handler({**raw, "train": merged})
        object.__setattr__(out.train, "__pydantic_fields_set__", set(given))
        return out

    def given(self) -> dict[str, Any]:
        """The settings the input named, flat (training fields at the top level), as JSON values."""
        own = self.model_dump(mode="json", exclude_unset=True, exclude={"train"})
        return {**self.train.model_dump(mode="json", exclude_unset=True), **own}

    @model_validator(mode="after")
    def _check(self) -> TeacherConfig:
        bad = [s for s in self.eval_splits if s not in ("train", "validation", "test")]
        if bad:
            raise ValueError(f"eval_splits: unknown split(s) {bad}; use train, validation or test")
        if self.train.supervision != "sft":
            raise ValueError(f"train.supervision: the teacher is trained with 'sft' (plain cross-entropy on "
                             f"the targets; there is no teacher to distil from), got {self.train.supervision!r}")
        return self

    def key_view(self) -> dict[str, Any]:
        """What the teacher's cache key hashes: the settings in the flat form the key has always had
        (so a teacher prepared before keeps its key), plus every other training field whose value is
        not the teacher default (so changing, say, ``lora_dropout`` makes a new teacher)."""
        train = self.train.model_dump(mode="json")
        own = self.model_dump(mode="json", exclude={"train"})
        view = {k: (train[k] if k in _LEGACY_TRAIN else own[k]) for k in _LEGACY_ORDER}
        if float(view["lora_alpha"]).is_integer():
            view["lora_alpha"] = int(view["lora_alpha"])  # it was an int field
        defaults = DistillConfig(**TEACHER_TRAIN_DEFAULTS).model_dump(mode="json")
        view.update({k: v for k, v in train.items() if k not in _LEGACY_TRAIN and v != defaults[k]})
        return view


class GenerationConfig(StrictModel):
    """Greedy CoT trace generation (local teacher or an OpenAI-compatible endpoint)."""

    max_new_tokens: int = Field(96, ge=8)
    batch_size: int = Field(16, ge=1)
    # openai backend only
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = Field(60.0, gt=0)
    temperature: float = Field(0.0, ge=0)


class AnnotateOptions(StrictModel):
    """The settings of ``teacher.annotate.annotate`` besides the teacher, the data, ``k`` and ``formats``
    (the sweep spec's ``annotate.options``); the defaults are ``annotate``'s."""

    backend: Literal["local", "openai"] = "local"
    policy: Literal["keep", "drop", "relabel"] = Field("keep", description="traces that disagree with gold")
    limit: int | None = Field(None, ge=1, description="annotate a seeded random subset of N rows")
    cot_limit: int | None = Field(None, ge=1, description="traces for a seeded subset of N of those rows")
    seed: int = 0
    split: str = "train"
    max_length: int = Field(192, ge=8, description="prompt + target tokens per example")
    gen: GenerationConfig = GenerationConfig()
    batch_size: int = Field(16, ge=1, description="batch of label scoring and the top-k pass")
