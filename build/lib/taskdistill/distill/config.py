"""Settings of one distillation (or SFT) run. Every field changes the result, so all of them go into
the run's content hash; a YAML preset with an unknown key is an error (``StrictModel``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from taskdistill.config import StrictModel

DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class DistillConfig(StrictModel):
    """One training run: ``method`` x ``supervision`` plus the optimisation recipe.

    - method ``logit``: every student weight is trained; ``lora``: only peft LoRA adapters on the
      student's linear layers are trained and merged into a plain checkpoint on export.
    - supervision ``label``: KD on the answer tokens; ``cot``: KD on teacher trace + answer tokens;
      ``blended``: the blended CoT loss (λ = ``blend_lambda``, ramped from 0 over ``blend_warmup``
      steps) on the CoT examples, plus, with ``label_mix`` (default), the answer-only (label-format)
      examples of every row under the same loss; ``sft``: plain cross-entropy on the target tokens
      (teacher preparation, baselines) and no teacher cache.
    - ``batch_size`` is per process and micro-step; one optimizer step sees
      ``batch_size * grad_accum * num_processes`` examples and normalises the loss by the number of
      supervised tokens in that whole global batch.
    """

    method: Literal["logit", "lora"] = "logit"
    supervision: Literal["label", "cot", "blended", "sft"] = "blended"
    steps: int = Field(100, ge=1)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    lr: float = Field(1e-4, gt=0)
    warmup_steps: int = Field(10, ge=0)
    min_lr: float = Field(0.1, ge=0, le=1, description="final LR as a fraction of lr (cosine floor)")
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float | None = Field(1.0, gt=0)
    temperature: float = Field(1.0, gt=0)
    blend_lambda: float = Field(0.5, ge=0, le=1)
    blend_warmup: int = Field(0, ge=0)
    answer_weight: float = Field(1.0, gt=0)
    label_mix: bool = Field(True, description="blended only: train on the answer-only (label-format) "
                            "examples too, so the student keeps answering directly (see docs/losses.md)")
    kd: Literal["forward", "reverse", "jsd"] = "forward"
    lora_r: int = Field(16, ge=1)
    lora_alpha: float = Field(32.0, gt=0)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    lora_targets: tuple[str, ...] = DEFAULT_LORA_TARGETS
    seed: int = 0
    checkpoint_every: int = Field(0, ge=0, description="0 = only the final checkpoint")
    eval_every: int = Field(0, ge=0, description="0 = evaluate only before and after training")
    max_length: int = Field(128, ge=8)
    bucket_size: int = Field(8, ge=1, description="batches per length-sorted bucket")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"

    @model_validator(mode="after")
    def _check(self) -> DistillConfig:
        if self.warmup_steps >= self.steps and self.steps > 1:
            raise ValueError(f"warmup_steps ({self.warmup_steps}) must be below steps ({self.steps})")
        if self.method == "lora" and not self.lora_targets:
            raise ValueError("method 'lora' needs at least one module name in lora_targets")
        return self

    @property
    def needs_cache(self) -> bool:
        return self.supervision != "sft"

    @property
    def needs_traces(self) -> bool:
        return self.supervision in ("cot", "blended")
