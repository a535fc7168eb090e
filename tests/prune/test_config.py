"""PruneConfig lists exactly prune_model's settings, with its defaults and choices."""

from __future__ import annotations

import inspect

import pytest
from pydantic import ValidationError

from taskdistill.prune.config import PruneConfig, PruneOptions


def test_prune_config_mirrors_prune_model():
    from taskdistill.prune.importance import LAYER_SCORES, METHODS
    from taskdistill.prune.plan import AXES, STRATEGIES
    from taskdistill.prune.step import prune_model

    sig = inspect.signature(prune_model).parameters
    fixed = {"model", "tokenizer", "target", "calib_texts", "reference_params", "progress", "task"}
    assert set(sig) - fixed == {"strategy", "method"} | set(PruneOptions.model_fields)
    kwargs = PruneConfig().prune_kwargs()
    assert kwargs == {n: sig[n].default for n in kwargs}
    assert set(PruneConfig.model_fields["strategy"].annotation.__args__) == set(STRATEGIES)
    assert set(PruneConfig.model_fields["method"].annotation.__args__) == set(METHODS)
    assert set(PruneOptions.model_fields["layer_score"].annotation.__args__) == set(LAYER_SCORES)
    assert PruneOptions(axes=list(AXES)).axes == AXES


def test_bad_prune_settings_are_refused():
    with pytest.raises(ValidationError, match="strategy"):
        PruneConfig(strategy="diagonal")
    with pytest.raises(ValidationError, match="axes"):
        PruneOptions(axes=("rows",))
    with pytest.raises(ValidationError, match="calib_n"):
        PruneConfig(calib_n=0)
