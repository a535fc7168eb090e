"""Names of a package imported on first use, so the command line starts without importing torch,
transformers or pydantic. A package lists where each name lives and takes the two module hooks:

    __getattr__, __dir__ = lazy_names(__name__, {"load_model": "load", ...})
"""

from __future__ import annotations

import importlib
import sys


def lazy_names(package: str, where: dict[str, str]):
    """(``__getattr__``, ``__dir__``) for ``package``: ``name`` comes from ``package.<where[name]>``."""

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
