"""Fixtures for the distill tests: the targets tests' tiny model, dataset, examples and teacher cache."""

from __future__ import annotations

from tests.targets.conftest import (  # noqa: F401  (fixtures)
    FH,
    MAXLEN,
    SHAPE,
    cot_cache,
    cot_examples,
    make_df,
    small,
    teacher,
)
