"""Shared bits for the prune tests."""

from __future__ import annotations

import torch

CALIB = [
    "<|im_start|>user\nAcme Corp beats Q3 earnings estimates<|im_end|>\n<|im_start|>assistant\n[[earnings beat]]",
    "Analyst upgrades Globex to buy, raises price target to $40",
    "Initech announces layoffs of 300 workers amid restructuring",
    "Umbrella shares fall 7% after FDA rejects drug application",
    "Board declares quarterly dividend of 25 cents per share",
    "Moody's downgrades Hooli debt rating to junk",
    "x",
    "Soylent Corp to acquire Wonka Industries for $1.2 billion in cash and stock deal",
]


def logits(model, tok, texts=CALIB[:4]):
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        return model(**enc).logits, enc["attention_mask"].bool()
