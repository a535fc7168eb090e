"""Model loading (registry names, local checkpoints, the local HF cache), architecture checks and
tiny randomly initialised test models."""

from taskdistill.models.arch import SUPPORTED_ARCHS, UnsupportedModelError, check_supported
from taskdistill.models.load import CheckpointError, ModelLoadError, load_model, resolve_model_dir
from taskdistill.models.tiny import make_tiny_model, make_tiny_tokenizer

__all__ = [
    "SUPPORTED_ARCHS",
    "CheckpointError",
    "ModelLoadError",
    "UnsupportedModelError",
    "check_supported",
    "load_model",
    "make_tiny_model",
    "make_tiny_tokenizer",
    "resolve_model_dir",
]
