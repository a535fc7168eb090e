"""Checks of command-line values shared by every stage: numeric ranges, thread counts, output paths and
names. Each raises ``InputError`` naming the option (or file) and the accepted values, so a bad value
stops the command with one line and exit code 2 before any work starts."""

from __future__ import annotations

import math
from pathlib import Path

from taskdistill.errors import InputError


def check_range(option: str, value, *, min: float | None = None, max: float | None = None,
                min_open: bool = False, max_open: bool = False, allow_none: bool = True):
    """Refuse ``value`` outside [min, max] (open ends with ``min_open``/``max_open``) or not finite."""
    if value is None:
        if allow_none:
            return None
        raise InputError(option, "a value is required")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(option, f"must be a number, got {value!r}") from None
    lo = "(" if min_open else "["
    hi = ")" if max_open else "]"
    span = f"{lo}{'-inf' if min is None else _fmt(min)}, {'inf' if max is None else _fmt(max)}{hi}"
    bad = not math.isfinite(v)
    if min is not None and (v < min or (min_open and v == min)):
        bad = True
    if max is not None and (v > max or (max_open and v == max)):
        bad = True
    if bad:
        raise InputError(option, f"must be in {span}, got {value!r}")
    return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_threads(threads: int | None, option: str = "--threads") -> int | None:
    """A thread count is >= 1."""
    return check_range(option, threads, min=1)


def check_out_folder(out: str | Path | None, option: str = "--out") -> Path | None:
    """An output *folder* must not be an existing file (or sit below one)."""
    if out is None:
        return None
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(out, f"{option} must be a folder, but this is a file; choose a folder path")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(parent, f"{option} would be created below a file; choose a folder path")
            break
    return out


def check_out_file(out: str | Path | None, option: str = "--out") -> Path | None:
    """An output *file* must not be an existing folder, and its parent must not be a file."""
    if out is None:
        return None
    out = Path(out).expanduser()
    if out.is_dir():
        raise InputError(out, f"{option} must be a file, but this is a folder; give a file name")
    if out.parent.exists() and not out.parent.is_dir():
        raise InputError(out.parent, f"{option}'s parent is a file, not a folder")
    return out


def check_name(name: str, what: str = "name") -> str:
    """A name that becomes one path component (a sweep name, a split name): letters, digits, '.', '_'
    and '-', not '.' or '..', no path separators."""
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", name) or ".." in name:
        raise InputError(what, f"{name!r} is not a usable name: use letters, digits, '.', '_' and '-' "
                               "(starting with a letter or digit, no '..' and no '/')")
    return name


def check_inside(path: str | Path, folder: str | Path, what: str) -> Path:
    """``path`` (relative to ``folder`` unless absolute) must resolve inside ``folder``."""
    folder = Path(folder).expanduser().resolve()
    p = Path(path).expanduser()
    full = (p if p.is_absolute() else folder / p).resolve()
    if full != folder and folder not in full.parents:
        raise InputError(what, f"{str(path)!r} points outside {folder}; give a name inside that folder")
    return full
