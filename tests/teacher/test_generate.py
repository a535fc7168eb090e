import torch

from taskdistill.task import load_task
from taskdistill.teacher.generate import generate_local

FH = load_task("finheadlines")


def _naive(model, tok, headline, n):
    from taskdistill.task.prompts import render_prompt

    ids = tok(render_prompt(tok, FH, headline, "cot"), add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=n, do_sample=False, eos_token_id=tok.eos_token_id,
                             pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def test_batched_generation_equals_one_by_one(tiny):
    model, tok = tiny
    heads = ["Acme beats Q3 EPS estimates", "X", "Broker upgrades Foo Inc to Buy, PT $12 - Reuters"]
    got = generate_local(model, tok, FH, heads, max_new_tokens=6, batch_size=2)
    assert got == [_naive(model, tok, h, 6) for h in heads]
    assert generate_local(model, tok, FH, [], max_new_tokens=6) == []
