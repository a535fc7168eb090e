"""Write a pruned model as a standard Hugging Face checkpoint plus ``prune_report.json``.

The folder is built under a temporary name and renamed when complete (``cache.atomic_dir``), so a
crash never leaves a checkpoint that looks finished. Nothing custom is needed to read it back:
``AutoModelForCausalLM.from_pretrained(out_dir)`` rebuilds the pruned shape from the rewritten config.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from taskdistill.cache import atomic_dir, atomic_write_text
from taskdistill.errors import InputError

REPORT_NAME = "prune_report.json"


def save_pruned(model, tokenizer, out_dir: str | Path, report: dict, *, overwrite: bool = False) -> Path:
    """Save ``model`` + ``tokenizer`` + the pruning report to ``out_dir``; return the folder.

    An existing complete folder is an error unless ``overwrite`` (a different run's output should not
    be silently replaced)."""
    out = Path(out_dir).expanduser()
    if out.exists():
        if not overwrite:
            raise FileExistsError(f"{out} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
        shutil.rmtree(out)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        # plain json.dumps with default=str, so any non-JSON value in a report is still written
        atomic_write_text(tmp / REPORT_NAME, json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    return out


def load_report(folder: str | Path) -> dict:
    path = Path(folder) / REPORT_NAME
    if not path.is_file():
        raise InputError(path, f"no pruning report (is {folder} a pruned checkpoint?)")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(path, f"unreadable pruning report ({exc})") from None
