"""Tiny, randomly initialised decoder LMs with a matching tokenizer, built entirely in code.

Unit tests must run in milliseconds with no download, yet exercise the same code paths as a real
checkpoint: grouped-query attention (fewer KV heads than query heads), tied and untied embeddings,
Qwen2's attention biases and Qwen3's q/k norms. The tokenizer is byte-level (one token per byte,
plus the ChatML specials), so it encodes any text, including every label string, and carries a
ChatML chat template like SmolLM2's.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    MistralConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen3Config,
)

from taskdistill.errors import InputError

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def make_tiny_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level tokenizer: 256 byte tokens + 3 specials (ids 256..258)."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    for s in SPECIALS:
        vocab[s] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIALS)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        chat_template=CHATML_TEMPLATE,
        model_max_length=2048,
        padding_side="left",
    )


TINY_VOCAB = 320  # 259 used, rounded up like real checkpoints pad their vocab


def tiny_config(arch: str = "llama", *, tied: bool = True, layers: int = 4, hidden: int = 64,
                heads: int = 4, kv_heads: int = 2, intermediate: int = 128, vocab: int = TINY_VOCAB):
    """Config of a tiny model of one supported family (GQA when ``kv_heads < heads``)."""
    common = dict(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=1024,
        tie_word_embeddings=tied,
        rms_norm_eps=1e-6,
        bos_token_id=None,
        eos_token_id=258,
        pad_token_id=256,
    )
    if arch == "llama":
        return LlamaConfig(**common, head_dim=hidden // heads)
    if arch == "qwen2":
        return Qwen2Config(**common, use_sliding_window=False)
    if arch == "qwen3":
        # Qwen3 decouples head_dim from hidden/heads; use a different size to catch mistakes.
        return Qwen3Config(**common, head_dim=2 * hidden // heads, use_sliding_window=False)
    if arch == "mistral":
        return MistralConfig(**common, head_dim=hidden // heads, sliding_window=None)
    raise InputError(f"tiny:{arch}", "unknown tiny arch; choose llama, qwen2, qwen3 or mistral")


def make_tiny_model(arch: str = "llama", *, seed: int = 0, tied: bool = True, **shape):
    """(model, tokenizer): a randomly initialised fp32 model in eval mode and the byte tokenizer.

    Biases (Qwen2) and norm weights are randomised too, so slicing mistakes change the logits."""
    torch.manual_seed(seed)
    config = tiny_config(arch, tied=tied, **shape)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0.0, 0.02)
            elif "norm" in name:
                p.uniform_(0.8, 1.2)
    model.eval()
    return model, make_tiny_tokenizer()
