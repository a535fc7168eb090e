"""Base for every stage's settings.

Each stage declares its own pydantic model (in ``<stage>/config.py``) deriving from ``StrictModel``:
unknown keys are errors (a typo in a YAML preset must not be silently ignored), and ``load_yaml``
reports the file and the field that is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from taskdistill.errors import TaskdistillError

T = TypeVar("T", bound="StrictModel")


class ConfigError(TaskdistillError, ValueError):
    """A config file or value that cannot be used; the message names the file and field."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def load_yaml(path: str | Path, model: type[T]) -> T:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(raw).__name__}")
    return validate(model, raw, str(path))


def validate(model: type[T], raw: dict, where: str = "options") -> T:
    """``model.model_validate(raw)``, with pydantic's errors turned into a ``ConfigError`` naming
    ``where`` (a file, or the command-line options) and each offending field and value."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "<root>"
            got = f" (got {err['input']!r})" if err.get("type") != "extra_forbidden" and "input" in err \
                and not isinstance(err["input"], dict) else ""
            parts.append(f"field '{loc}': {err['msg']}{got}")
        raise ConfigError(f"{where}: invalid {model.__name__}: " + "; ".join(parts)) from exc
