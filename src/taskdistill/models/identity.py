"""The one identity of a model: ``model_hash``, used by every stage that keys or records a model.

A checkpoint folder (or a model spec: registry name, ``tiny:<arch>``, hub id) is named by *what its
files hold*: its config, weight and tokenizer files, not its reports or logs and not its path.
Renaming a folder keeps its caches; retraining in place (same path, new weights) gets a new hash.
Hashing SmolLM2's 517 MB of weights takes ~1 s, so each file's hash is memoised per (path, size, mtime).

A model in memory (pruned step by step, or built by a test) is named by its *state*: its config and
every stored tensor (tied weights once), so two different states never share a hash. A model loaded
from a folder that has not been changed since is best named by that folder
(``model_hash(model.taskdistill_source)``): the same hash the folder gets everywhere else.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from taskdistill.cache import content_hash, file_hash

# Files that make up a checkpoint's identity (besides the weight files, *.safetensors / *.bin).
IDENTITY_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                  "chat_template.jinja", "model.safetensors.index.json")
_MEMO: dict[tuple, str] = {}


def _memo_file_hash(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _MEMO:
        _MEMO[key] = file_hash(path)
    return _MEMO[key]


def checkpoint_hash(model_dir: str | Path) -> str:
    """Hash of a checkpoint folder's config, weights and tokenizer files (not of its reports)."""
    from taskdistill.models.load import CheckpointError  # torch-free until needed

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise CheckpointError(f"{model_dir}: not a checkpoint folder (no config.json)")
    names = sorted(p.name for p in model_dir.iterdir() if p.is_file() and (
        p.suffix in (".safetensors", ".bin") or p.name in IDENTITY_FILES))
    if not any(n.endswith((".safetensors", ".bin")) for n in names):
        raise CheckpointError(f"{model_dir}: checkpoint folder has no weights (*.safetensors / *.bin)")
    return content_hash("model", [(n, _memo_file_hash(model_dir / n)) for n in names])


def state_hash(model) -> str:
    """sha256 over a model's config and every stored tensor (tied weights once): names its *state*."""
    import torch

    h = hashlib.sha256()
    h.update(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    seen: set[int] = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        h.update(name.encode())
        t = p.detach().to("cpu").contiguous()
        h.update(str(t.dtype).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def model_hash(model) -> str:
    """The identity of ``model``: a checkpoint folder or model spec (str / Path) by its files, a model
    object by its state. Raises ``CheckpointError`` for a folder without config.json or weights."""
    if isinstance(model, str | Path):
        path = Path(model).expanduser()
        if not path.exists() and not str(model).startswith(("/", ".", "~")):
            from taskdistill.models.load import resolve_model_dir

            path = resolve_model_dir(str(model), quiet=True)
        return checkpoint_hash(path)
    return state_hash(model)
