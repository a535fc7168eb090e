"""Settings of one evaluation (``evaluate_model``'s keyword arguments), typed so that a sweep spec's
``eval`` section is checked field by field before any work starts. The defaults are
``evaluate_model``'s own (a test keeps them equal)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from taskdistill.config import StrictModel


class EvalConfig(StrictModel):
    """In-domain scoring of the test split, MMLU, and efficiency measurements of one model."""

    model_task: str | None = Field(None, description="the task the model was trained for, when it records "
                                   "none (a built-in name or a task YAML)")
    mmlu_n: int | Literal["all"] = Field(1000, description="MMLU questions: a count, 'all', or 0 to skip")
    scoring: Literal["cloze", "letter"] = Field("cloze", description="MMLU scoring")
    mode: Literal["label", "cot"] = Field("label", description="in-domain scoring mode")
    fmt: Literal["label", "cot"] | None = Field(None, description="prompt format (default: the mode)")
    limit: int | None = Field(None, ge=1, description="score a seeded subset of N test rows")
    seed: int = 0
    batch_size: int = Field(16, ge=1)
    max_new_tokens: int = Field(64, ge=1, description="cap on a generated trace (cot mode)")
    mmlu_path: str | None = Field(None, description="a local MMLU file instead of the bundled one")
    efficiency: bool = Field(True, description="measure throughput and latency")
    efficiency_n: int = Field(32, ge=1)
    resume: bool = Field(True, description="reuse the per-question results of an interrupted run")

    @field_validator("mmlu_n", mode="before")
    @classmethod
    def _mmlu_n(cls, v: Any) -> int | str:
        if v == "all" or (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
            return v
        raise PydanticCustomError("mmlu_n", "{v} is not a number of MMLU questions; use a count, 'all', or 0 "
                                  "to skip MMLU", {"v": repr(v)})

    def kwargs(self, *, only_set: bool = False) -> dict[str, Any]:
        """Keyword arguments of ``evaluate_model``: every field, or only those given explicitly."""
        return self.model_dump(exclude_unset=only_set)
