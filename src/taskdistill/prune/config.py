"""Settings of one pruning step (``prune_model``'s keyword arguments), typed so that a sweep spec's
``prune`` section is checked field by field before any work starts.

The choices mirror the constants of the modules that use them (``plan.STRATEGIES``,
``importance.METHODS`` / ``LAYER_SCORES``; a test keeps them equal), so reading a config never
imports torch.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from taskdistill.config import StrictModel

Strategy = Literal["combined", "width", "depth"]
ImportanceMethod = Literal["activation", "magnitude"]
Axis = Literal["mlp", "heads", "hidden", "layers"]


class PruneOptions(StrictModel):
    """The finer settings of ``prune_model``; the defaults are its own."""

    non_embedding: bool = Field(False, description="count targets without the embedding parameters")
    axes: tuple[Axis, ...] | None = Field(None, description="axes to shrink (default: the strategy's)")
    batch_size: int = Field(8, ge=1, description="calibration batch of the importance pass")
    max_length: int = Field(64, ge=8, description="calibration tokens per text")
    cache: bool = Field(True, description="reuse cached importance scores")
    layer_score: Literal["block_influence", "skip_loss"] = Field(
        "block_influence", description="how layers are ranked (skip_loss: one extra pass per layer)")


class PruneConfig(StrictModel):
    """One pruning step: how the shape is chosen, how importance is measured, on how many texts."""

    strategy: Strategy = Field("combined", description="combined (depth+width), width or depth")
    method: ImportanceMethod = Field("activation", description="importance method")
    calib_n: int = Field(32, ge=1, description="calibration texts for importance scores")
    options: PruneOptions = PruneOptions()

    def prune_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``prune_model`` (besides the model, target, texts and task)."""
        return {"strategy": self.strategy, "method": self.method, **self.options.model_dump()}
