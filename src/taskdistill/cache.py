"""Where taskdistill keeps what it computes, and how it writes it.

Every expensive output (converted checkpoints, datasets, teacher annotations, importance scores,
pruned and distilled students, evaluation records) is *content-addressed*: its folder name is a hash
of the inputs and the settings that matter. A rerun finds the folder and skips the work; a killed
run leaves no half-written output because every write goes to a temporary name first and is renamed
into place atomically. The temporary names (``.<name>.<random>.tmp``) are locked while they are being
written, so the next write of the same output removes the ones a killed run left behind and never
touches one a live process is still writing. Long work that must survive a kill (training, annotation,
dataset generation) checkpoints into ``work_dir(final)`` (``.work-<name>``, kept across attempts) and
is published with ``publish_dir`` or copied into an ``atomic_dir``.

A command that writes into a folder the user chose (``--out``, a sweep folder) holds
``output_lock(folder)`` while it runs: a second command on the same folder stops at once with a
message naming the holder (pid, host, command, since when) instead of interleaving with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from taskdistill.errors import OutputLockedError, TaskdistillError

try:  # POSIX advisory locks mark temporary outputs as "being written by a live process"
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: temporary outputs are then never cleaned up
    fcntl = None

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


def _plain(obj: Any, hashing: bool) -> Any:
    """Settings or results as plain JSON values (paths, sets, pydantic models, numpy/torch values).

    ``hashing=True`` is the deterministic form ``content_hash`` dumps: dict keys sorted, floats as their
    ``repr`` (exact, and stable across json versions). ``hashing=False`` keeps floats as JSON numbers and
    turns arrays and scalars into lists and numbers: the form for files people and tools read back."""
    if hasattr(obj, "model_dump"):
        return _plain(obj.model_dump(mode="json"), hashing)
    if isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: str(kv[0])) if hashing else obj.items()
        return {str(k): _plain(v, hashing) for k, v in items}
    if isinstance(obj, list | tuple):
        return [_plain(v, hashing) for v in obj]
    if isinstance(obj, set | frozenset):
        return sorted(_plain(v, hashing) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if hashing:
        return repr(obj) if isinstance(obj, float) else obj
    if hasattr(obj, "tolist") and not isinstance(obj, str | bytes):  # numpy / torch scalars and arrays
        return _plain(obj.tolist(), hashing)
    return obj


def content_hash(*parts: Any, length: int = 16) -> str:
    """Stable short hash of settings/inputs. Same inputs -> same hash on every machine and run."""
    payload = json.dumps([_plain(p, hashing=True) for p in parts], sort_keys=True, separators=(",", ":"))
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


def _try_flock(fd: int) -> bool | None:
    """Take an exclusive lock on ``fd`` without waiting: True if taken, False if another open file
    holds it, None if this filesystem has no advisory locks."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        import errno

        return False if exc.errno in (errno.EAGAIN, errno.EACCES) else None
    return True


def _still_at(fd: int, path: Path) -> bool:
    """Is the open ``fd`` still the file/folder at ``path`` (not removed or replaced meanwhile)?"""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _tmp_pattern(name: str) -> re.Pattern:
    # tempfile names: prefix + 8 characters of [a-z0-9_] + suffix
    return re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")


def clean_stale_tmp(final: str | Path) -> list[Path]:
    """Remove the temporary ``.<name>.*.tmp`` files/folders that killed writers of ``final`` left next
    to it. One that a live process is still writing (it holds its lock) is left alone. Returns the
    paths removed. ``atomic_dir`` and ``atomic_write_bytes`` call this before every write."""
    final = Path(final)
    if fcntl is None or not final.parent.is_dir():
        return []
    pattern = _tmp_pattern(final.name)
    removed = []
    for entry in os.scandir(final.parent):
        if not pattern.fullmatch(entry.name):
            continue
        path = Path(entry.path)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # vanished meanwhile, or unreadable: not ours to judge
            continue
        try:
            if _try_flock(fd) is not True or not _still_at(fd, path):
                continue  # a live writer holds it, it was just renamed into place, or we cannot tell
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            removed.append(path)
        finally:
            os.close(fd)
    return removed


def _locked_tmp(final: Path, make) -> tuple[Path, int]:
    """Create a temporary sibling of ``final`` with ``make`` and lock it, retrying if a concurrent
    ``clean_stale_tmp`` removed it between creation and locking. Returns (path, locked fd)."""
    clean_stale_tmp(final)
    for _ in range(100):
        tmp, fd = make()
        if fd is None:
            continue
        locked = _try_flock(fd)
        if locked is None or (locked and _still_at(fd, tmp)):
            return tmp, fd
        os.close(fd)
    raise OSError(f"{final.parent}: could not create a temporary file that stays in place")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so readers see either the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def make():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        return Path(tmp), fd

    tmp, fd = _locked_tmp(path, make)
    try:
        with os.fdopen(fd, "wb") as fh:  # closing fh releases the lock, after the rename
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


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (numbers stay numbers) atomically."""
    return atomic_write_text(path, json.dumps(_plain(obj, hashing=False), indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it to ``final`` only if the block succeeds.

    A crash inside the block leaves no ``final`` folder, so "folder exists" always means "complete".
    Temporary folders of ``final`` left by killed runs are removed first (not those of live runs).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)

    def make():
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
        try:
            return tmp, os.open(tmp, os.O_RDONLY)
        except FileNotFoundError:  # removed by a concurrent cleanup before we could lock it
            return tmp, None

    tmp, fd = _locked_tmp(final, make)
    try:
        yield tmp
        publish_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(fd)  # releases the lock


def publish_dir(built: str | Path, final: str | Path) -> Path:
    """Rename the finished folder ``built`` to ``final`` in one step (readable like any other folder).
    If ``final`` already exists, another process finished the same content-addressed work first:
    ``built`` is removed and the existing ``final`` kept."""
    built, final = Path(built), Path(final)
    os.chmod(built, 0o755)  # mkdtemp creates 0700; the finished folder should read like any other
    if final.exists():
        shutil.rmtree(built, ignore_errors=True)
    else:
        os.replace(built, final)
    return final


def work_dir(final: str | Path) -> Path:
    """The resumable scratch folder of long work towards ``final``: ``.work-<name>`` next to it, created
    if missing. Unlike ``atomic_dir``'s temporary folder it keeps its name across attempts and survives a
    failure or a kill, so a rerun resumes from the checkpoints written into it so far. Finish with
    ``publish_dir(work, final)`` (the work becomes the output) or build ``final`` with ``atomic_dir`` and
    then remove the work folder."""
    final = Path(final)
    work = final.parent / f".work-{final.name}"
    work.mkdir(parents=True, exist_ok=True)
    return work


# --- one writer per output folder ---------------------------------------------------------------

_HELD: dict[str, list] = {}  # lock path -> [FileLock, holding thread id, depth]
_HELD_GUARD = threading.Lock()


def lock_paths(folder: str | Path) -> tuple[Path, Path]:
    """(lock file, holder record) of an output folder: ``.<name>.lock`` and ``.<name>.lock.json`` next
    to it, so the lock exists before the folder does and survives the folder being renamed into place."""
    folder = Path(folder).expanduser().resolve()
    if not folder.name:
        raise TaskdistillError(f"{folder}: cannot be used as an output folder")
    return folder.parent / f".{folder.name}.lock", folder.parent / f".{folder.name}.lock.json"


def lock_holder(folder: str | Path) -> dict | None:
    """The holder record (pid, host, command, since) of ``folder``'s lock, or None if nobody holds it."""
    lock_file, info_file = lock_paths(folder)
    if not lock_file.exists():
        return None
    from filelock import FileLock, Timeout

    probe = FileLock(lock_file, timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return _read_holder(info_file)
    probe.release()
    return None


def _read_holder(info_file: Path) -> dict:
    try:
        holder = json.loads(info_file.read_text())
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):  # not written yet, or being replaced: the holder is still live
        return {}


def _command_line() -> str:
    args = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    text = " ".join(args)
    return text if len(text) <= 200 else text[:197] + "..."


@contextlib.contextmanager
def output_lock(folder: str | Path, command: str | None = None) -> Iterator[Path]:
    """Hold the one lock of an output folder while writing into it; yields the lock file.

    If another process (or another thread of this one) holds it, raise ``OutputLockedError`` at once,
    naming the holder. The same thread may nest ``output_lock`` on one folder. The lock is released
    when the block ends or the process dies (even by kill -9); the empty ``.<name>.lock`` file stays.
    """
    from filelock import FileLock, Timeout

    lock_file, info_file = lock_paths(folder)
    key = str(lock_file)
    me = threading.get_ident()
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None:
            if held[1] != me:
                raise OutputLockedError(Path(folder), _read_holder(info_file))
            held[2] += 1
    if held is not None:
        try:
            yield lock_file
        finally:
            with _HELD_GUARD:
                held[2] -= 1
        return

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_file, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputLockedError(Path(folder), _read_holder(info_file)) from None
    held = [lock, me, 1]
    with _HELD_GUARD:
        _HELD[key] = held
    try:
        atomic_write_json(info_file, {
            "pid": os.getpid(), "host": socket.gethostname(), "command": command or _command_line(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"), "folder": str(Path(folder).expanduser().resolve()),
        })
        yield lock_file
    finally:
        with _HELD_GUARD:
            _HELD.pop(key, None)
        with contextlib.suppress(FileNotFoundError):
            info_file.unlink()
        lock.release()
