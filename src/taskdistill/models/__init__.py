"""Model loading (registry names, local checkpoints, the local HF cache), architecture checks and
tiny randomly initialised test models.

The names are imported on first use, so ``from taskdistill.models.arch import ...`` (and the command
line's start-up) does not pay for importing torch and transformers.
"""

from __future__ import annotations

from taskdistill.lazy import lazy_names

_WHERE = {
    "SUPPORTED_ARCHS": "arch",
    "UnsupportedModelError": "arch",
    "check_supported": "arch",
    "CheckpointError": "load",
    "DeviceError": "load",
    "resolve_device": "load",
    "ModelLoadError": "load",
    "load_model": "load",
    "resolve_model_dir": "load",
    "make_tiny_model": "tiny",
    "make_tiny_tokenizer": "tiny",
    "model_hash": "identity",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
