"""Strict loading: a broken checkpoint is refused with one error naming the file and the tensor/field,
never loaded as a partly random model."""

import json
import shutil

import pytest

from taskdistill.errors import TaskdistillError
from taskdistill.models import CheckpointError, ModelLoadError, load_model, make_tiny_model
from taskdistill.models.load import safetensors_header

from .corrupt import TENSOR, save_clean
from .corrupt import missing as _missing
from .corrupt import truncated as _truncated
from .corrupt import unexpected as _unexpected
from .corrupt import wrong_shape as _wrong_shape


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_clean(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture
def ckpt(saved, tmp_path):
    d = tmp_path / "ckpt"
    shutil.copytree(saved, d)
    return d


@pytest.mark.parametrize(("corrupt", "pattern"), [
    (_missing, rf"model\.safetensors: tensor '{TENSOR}' missing"),
    (_wrong_shape, rf"model\.safetensors: tensor '{TENSOR}' has shape \[3, 3\] but config\.json implies \[128, 64\]"),
    (_truncated, r"model\.safetensors: truncated: tensor '[\w.]+' needs bytes up to \d+ but the file has \d+"),
    (_unexpected, r"model\.safetensors: unexpected tensor 'model\.layers\.9\.mlp\.up_proj\.weight'"),
], ids=["missing-tensor", "wrong-shape", "truncated-file", "unexpected-tensor"])
def test_corrupt_checkpoint_is_refused_naming_file_and_tensor(ckpt, corrupt, pattern):
    load_model(ckpt)  # the clean copy loads
    corrupt(ckpt)
    with pytest.raises(CheckpointError, match=pattern) as info:
        load_model(ckpt)
    assert str(ckpt) in str(info.value)
    assert isinstance(info.value, TaskdistillError) and isinstance(info.value, ModelLoadError)


def test_truncated_header_is_refused(ckpt):
    f = ckpt / "model.safetensors"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: truncated \(100 bytes, but its header"):
        load_model(ckpt)


def test_clean_header_lists_every_tensor(saved):
    header = safetensors_header(saved / "model.safetensors")
    model, _ = make_tiny_model("llama", tied=False)
    assert set(header) == set(model.state_dict())
    assert header[TENSOR]["shape"] == [128, 64]


def test_sharded_checkpoint_with_a_missing_shard_names_the_index(tmp_path):
    model, tok = make_tiny_model("llama")
    model.save_pretrained(tmp_path, max_shard_size="100KB")
    tok.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1
    load_model(tmp_path)
    (tmp_path / shards[-1]).unlink()
    with pytest.raises(CheckpointError, match=rf"model\.safetensors\.index\.json: names the weight file '{shards[-1]}'"):
        load_model(tmp_path)


@pytest.mark.parametrize(("config", "pattern"), [
    ([1, 2], r"config\.json: must be a JSON object of model settings, got a JSON list"),
    ("{not json", r"config\.json: not valid JSON"),
    ({"hidden_size": "64"}, r"config\.json: field 'hidden_size' must be a positive integer, got '64'"),
    ({"num_hidden_layers": 0}, r"config\.json: field 'num_hidden_layers' must be a positive integer, got 0"),
    ({"num_key_value_heads": 3}, r"config\.json: field 'num_key_value_heads' \(3\) must divide"),
    ({"vocab_size": 100}, r"config\.json: field 'pad_token_id' must be a token id in \[0, vocab_size=100\), got 256"),
    ({"num_hidden_layers": 2}, r"model\.safetensors: unexpected tensor 'model\.layers\.2\."),
], ids=["list", "not-json", "string-size", "zero-layers", "kv-heads", "pad-past-vocab", "fewer-layers"])
def test_invalid_config_json_is_refused_naming_the_field(ckpt, config, pattern):
    cfg_file = ckpt / "config.json"
    if isinstance(config, dict):
        cfg = json.loads(cfg_file.read_text())
        cfg.update(config)
        config = cfg
    cfg_file.write_text(config if isinstance(config, str) else json.dumps(config))
    with pytest.raises(CheckpointError, match=pattern):
        load_model(ckpt)


def test_missing_tokenizer_files_are_named_not_sentencepiece(ckpt):
    for f in ("tokenizer.json", "tokenizer_config.json"):
        (ckpt / f).unlink()
    with pytest.raises(CheckpointError, match=r"no tokenizer files \(looked for tokenizer\.json") as info:
        load_model(ckpt)
    assert "sentencepiece" not in str(info.value)


def test_corrupt_tokenizer_file_is_refused(ckpt):
    (ckpt / "tokenizer.json").write_text("{broken")
    with pytest.raises(CheckpointError, match=r"cannot load the tokenizer"):
        load_model(ckpt)


def test_tokenizer_with_ids_past_the_embedding_is_refused(ckpt):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ckpt)
    tok.add_tokens([f"<extra_{i}>" for i in range(80)])  # ids 259..338, the embedding has 320 rows
    tok.save_pretrained(ckpt)
    with pytest.raises(CheckpointError, match=r"tokenizer\.json: the tokenizer has token ids up to 338 but the "
                                              r"model's embedding has 320 rows"):
        load_model(ckpt)


def test_a_corrupt_checkpoint_is_refused_before_any_work(ckpt):
    """resolve_model_dir (used to hash a model before work starts) already checks headers and files."""
    from taskdistill.models import resolve_model_dir

    _truncated(ckpt)
    with pytest.raises(CheckpointError, match="truncated"):
        resolve_model_dir(ckpt)
