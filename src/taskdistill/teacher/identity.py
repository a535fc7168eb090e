"""Content identities of the two inputs of this stage: a model checkpoint and a dataset folder.

The teacher and annotation caches are keyed by *what the files hold*, not by their paths: renaming a
folder keeps its cache, while retraining a teacher in place (same path, new weights) gets a new one.
Hashing SmolLM2's 517 MB of weights takes ~1 s, so the hash is memoised per (path, size, mtime).
"""

from __future__ import annotations

import json
from pathlib import Path

from taskdistill.cache import content_hash, file_hash
from taskdistill.checks import check_name
from taskdistill.errors import TaskdistillError

SPLITS = ("train", "validation", "test")
_MEMO: dict[tuple, str] = {}


class TeacherInputError(TaskdistillError, ValueError):
    """A teacher or dataset input that cannot be used; the message names the file or folder."""


def _memo_file_hash(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _MEMO:
        _MEMO[key] = file_hash(path)
    return _MEMO[key]


def model_hash(model_dir: str | Path) -> str:
    """Hash of a checkpoint folder's config, weights and tokenizer files (not of its reports)."""
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise TeacherInputError(f"{model_dir}: not a checkpoint folder (no config.json)")
    names = sorted(p.name for p in model_dir.iterdir() if p.is_file() and (
        p.suffix in (".safetensors", ".bin") or p.name in (
            "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "chat_template.jinja", "model.safetensors.index.json")))
    if not any(n.endswith((".safetensors", ".bin")) for n in names):
        raise TeacherInputError(f"{model_dir}: checkpoint folder has no weights (*.safetensors / *.bin)")
    return content_hash("model", [(n, _memo_file_hash(model_dir / n)) for n in names])


def split_path(dataset_dir: str | Path, split: str) -> Path:
    """``<dataset_dir>/<split>.parquet``, or a clear error saying what the folder lacks."""
    dataset_dir = Path(dataset_dir)
    check_name(split, "split")  # a split is a file name inside the folder: never '../x'
    if not dataset_dir.is_dir():
        raise TeacherInputError(f"dataset folder not found: {dataset_dir}")
    path = dataset_dir / f"{split}.parquet"
    if not path.is_file():
        have = sorted(p.name for p in dataset_dir.glob("*.parquet")) or ["no parquet files"]
        raise TeacherInputError(f"{dataset_dir}: missing {split}.parquet (found: {', '.join(have)}); "
                                "a dataset folder holds train/validation/test.parquet")
    return path


def dataset_hash(dataset_dir: str | Path, splits: tuple[str, ...] = SPLITS) -> str:
    """The data stage's ``data_hash`` of the split files, after checking that each one exists."""
    from taskdistill.data.loader import data_hash

    for s in splits:
        split_path(dataset_dir, s)
    return data_hash(dataset_dir, splits)


def read_split(dataset_dir: str | Path, split: str, task):
    """Load one split of ``task`` through the data stage's validating loader (columns ``id``,
    ``task.input_field``, ``label``, ``category``, ``rationale``)."""
    from taskdistill.data.loader import load_split

    return load_split(split_path(dataset_dir, split), task)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TeacherInputError(f"{path}: cannot read ({exc})") from exc
