"""Where taskdistill keeps what it computes, and how it writes it.

Every expensive output (converted checkpoints, datasets, teacher annotations, importance scores,
pruned and distilled students, evaluation records) is *content-addressed*: its folder name is a hash
of the inputs and the settings that matter. A rerun finds the folder and skips the work; a killed
run leaves no half-written output because every write goes to a temporary name first and is renamed
into place atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENV_HOME = "TASKDISTILL_HOME"


def home() -> Path:
    """Root of all caches: ``$TASKDISTILL_HOME`` or ``~/.cache/taskdistill``. Created on demand."""
    root = Path(os.environ.get(ENV_HOME) or Path.home() / ".cache" / "taskdistill").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def stage_dir(stage: str) -> Path:
    """Folder holding every cached output of one stage (e.g. ``models``, ``data``, ``prune``)."""
    d = home() / stage
    d.mkdir(parents=True, exist_ok=True)
    return d


def _canonical(obj: Any) -> Any:
    """Turn settings into something json can dump deterministically (paths, sets, pydantic models)."""
    if hasattr(obj, "model_dump"):
        return _canonical(obj.model_dump(mode="json"))
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [_canonical(v) for v in obj]
    if isinstance(obj, set | frozenset):
        return sorted(_canonical(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float):
        return repr(obj)
    return obj


def content_hash(*parts: Any, length: int = 16) -> str:
    """Stable short hash of settings/inputs. Same inputs -> same hash on every machine and run."""
    payload = json.dumps([_canonical(p) for p in parts], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:length]


def file_hash(path: str | Path, length: int = 16, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes (or of every file below a folder, by relative path)."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode())
        with open(f, "rb") as fh:
            while block := fh.read(chunk):
                h.update(block)
    return h.hexdigest()[:length]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results should be readable like any other file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(obj: Any) -> Any:
    """Like ``_canonical`` but keeps floats as JSON numbers: for files people and tools read back."""
    if hasattr(obj, "model_dump"):
        return _jsonable(obj.model_dump(mode="json"))
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, set | frozenset):
        return sorted(_jsonable(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and not isinstance(obj, str | bytes):  # numpy / torch scalars and arrays
        return _jsonable(obj.tolist())
    return obj


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (numbers stay numbers) atomically."""
    return atomic_write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it to ``final`` only if the block succeeds.

    A crash inside the block leaves no ``final`` folder, so "folder exists" always means "complete".
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700; the finished folder should read like any other
        if final.exists():  # another process finished the same content-addressed work first
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
