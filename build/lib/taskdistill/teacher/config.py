"""Settings of the teacher stage: preparing ("correcting") the teacher, and annotating a dataset with it.

Every field that can change the prepared weights or the annotations is part of the cache key, so two
runs with equal settings share one folder and a changed setting never silently reuses stale output.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from taskdistill.config import StrictModel

POLICIES = ("keep", "drop", "relabel")
BACKENDS = ("local", "openai")


class TeacherConfig(StrictModel):
    """How the base model is fine-tuned into a competent teacher (plain cross-entropy, no teacher).

    The defaults are the settings of the real SmolLM2-135M run on finheadlinemix-mini (see
    docs/teacher.md); they fit ~40 minutes on 2 shared CPU cores.
    """

    method: Literal["logit", "lora"] = "logit"  # logit = full fine-tune (the SFT path of the trainer)
    steps: int = Field(100, ge=1)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(3e-4, gt=0)
    warmup_steps: int = Field(10, ge=0)
    min_lr: float = Field(0.1, ge=0, le=1)  # cosine floor, as a fraction of lr
    weight_decay: float = Field(0.0, ge=0)
    max_length: int = Field(128, ge=16)
    # Share of the training examples in the `cot` format (gold rationale + label); the rest are
    # `label`. 0.5 = every train row once in each format. The teacher must be fluent in both: label
    # mode is how it is scored (exact and cheap), cot mode is how it writes traces for students.
    # 0.25 leans to the shorter label examples (~58 vs ~88 tokens): the step budget is CPU-bound.
    cot_fraction: float = Field(0.25, ge=0.0, le=1.0)
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    seed: int = 0
    checkpoint_every: int = Field(10, ge=1)
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

    @model_validator(mode="after")
    def _splits_known(self):
        bad = [s for s in self.eval_splits if s not in ("train", "validation", "test")]
        if bad:
            raise ValueError(f"eval_splits: unknown split(s) {bad}; use train, validation or test")
        return self


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
