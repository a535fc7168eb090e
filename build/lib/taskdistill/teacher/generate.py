"""Writing chain-of-thought traces with the teacher: a local causal LM, or an OpenAI-compatible endpoint.

Generation is greedy (deterministic, so a resumed run writes the same traces) and capped in length:
on 2 CPU cores SmolLM2-135M writes ~30 tokens/s at batch 8, so every token of cap costs real time.
Prompts are sorted by length before batching so left padding wastes little compute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from taskdistill.task import Task
from taskdistill.task.prompts import messages, render_prompt


def generate_local(model, tokenizer, task: Task, texts: Sequence[str], *, max_new_tokens: int = 96,
                   batch_size: int = 16, on_batch: Callable[[int], None] | None = None) -> list[str]:
    """Greedy cot-format completions of ``task``'s prompt for ``texts`` (text after the assistant
    header, specials stripped), in input order. ``on_batch(n)`` is called after each batch."""
    import torch

    if not texts:
        return []
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    if eos is None:
        raise ValueError("the teacher's tokenizer has no eos token; generation would never stop")
    encoded = [tokenizer(render_prompt(tokenizer, task, t, "cot"), add_special_tokens=False).input_ids
               for t in texts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    out: list[str | None] = [None] * len(encoded)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            # Left padding: every prompt ends at the same column, so new tokens line up.
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                seq = encoded[i]
                ids[row, width - len(seq):] = torch.tensor(seq)
                mask[row, width - len(seq):] = 1
            with torch.inference_mode():
                gen = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                     max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                     eos_token_id=eos, pad_token_id=pad, temperature=None, top_p=None,
                                     top_k=None)
            for row, i in enumerate(idx):
                out[i] = tokenizer.decode(gen[row, width:], skip_special_tokens=True)
            if on_batch:
                on_batch(len(idx))
    finally:
        model.train(was_training)
    return [o if o is not None else "" for o in out]


def generate_openai(task: Task, texts: Sequence[str], *, base_url: str, model: str, api_key_env: str = "OPENAI_API_KEY",
                    max_new_tokens: int = 96, temperature: float = 0.0, timeout_s: float = 60.0,
                    max_retries: int = 3, on_batch: Callable[[int], None] | None = None) -> list[str]:
    """cot-format completions from an OpenAI-compatible chat endpoint (vLLM, NIM, llama.cpp, ...).

    Reuses the data stage's client (timeouts, retries with backoff on 429/5xx, key read from the
    environment variable ``api_key_env``). The messages are the same ``cot`` prompt the local teacher
    sees, so traces from either backend are interchangeable. Greedy (temperature 0) by default."""
    from taskdistill.data.synth.openai_client import ChatClient

    client = ChatClient(base_url=base_url, model=model, api_key_env=api_key_env, timeout=timeout_s,
                        max_retries=max_retries)
    out = []
    for t in texts:
        out.append(client.chat(messages(task, t, "cot"), temperature=temperature, max_tokens=max_new_tokens)[0])
        if on_batch:
            on_batch(1)
    return out
