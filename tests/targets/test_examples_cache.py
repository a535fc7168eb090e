"""Examples (segments, truncation, errors) and the teacher top-k cache (round trip, checks, resume)."""

from __future__ import annotations

import json

import pytest
import torch

from taskdistill.targets.batching import bucketed_batches, collate, supervised_logits
from taskdistill.targets.cache import CacheError, TopKCache, write_topk_cache
from taskdistill.targets.examples import ExampleError, build_examples, examples_hash
from taskdistill.task import load_task

from .conftest import FH, MAXLEN, make_df


def test_label_examples_supervise_answer_only(small):
    _, tok = small
    ex = build_examples(tok, FH, make_df(3), fmt="label", max_length=MAXLEN)[0]
    assert set(ex.segments) == {"answer"}
    target = tok.decode(list(ex.targets))
    assert target == f"[[{ex.label}]]<|im_end|>"
    assert ex.positions[0] == ex.prompt_len - 1 and len(ex.positions) == ex.n_supervised


def test_cot_examples_tag_trace_and_answer(small):
    _, tok = small
    ex = build_examples(tok, FH, make_df(3), fmt="cot", traces={"h1": "teacher says so"}, max_length=MAXLEN)
    e0, e1 = ex[0], ex[1]
    trace_ids = [i for i, s in zip(e1.targets, e1.segments, strict=True) if s == "trace"]
    answer_ids = [i for i, s in zip(e1.targets, e1.segments, strict=True) if s == "answer"]
    assert tok.decode(trace_ids) == "<think>teacher says so</think>\n"
    assert tok.decode(answer_ids) == f"[[{e1.label}]]<|im_end|>"
    assert "r0." in tok.decode(list(e0.targets))  # no teacher trace -> gold rationale


def test_cot_trace_truncated_to_fit(small):
    _, tok = small
    full = build_examples(tok, FH, make_df(1), fmt="cot", traces={"h0": "x" * 300}, max_length=1000)[0]
    cut = build_examples(tok, FH, make_df(1), fmt="cot", traces={"h0": "x" * 300}, max_length=400)[0]
    assert len(full.input_ids) > 400 >= len(cut.input_ids)
    text = tok.decode(list(cut.targets))
    assert text.endswith(f"</think>\n[[{cut.label}]]<|im_end|>")


def test_example_errors_name_the_row(small):
    _, tok = small
    df = make_df(2)
    df.loc[1, "label"] = "Not A Label"
    with pytest.raises(ExampleError, match=r"row 'h1'.*label"):
        build_examples(tok, FH, df, max_length=MAXLEN)
    df = make_df(2)
    df.loc[0, "rationale"] = ""
    with pytest.raises(ExampleError, match=r"row 'h0'.*trace"):
        build_examples(tok, FH, df, fmt="cot", max_length=MAXLEN)
    with pytest.raises(ExampleError, match="missing column"):
        build_examples(tok, FH, df.drop(columns=["headline"]), max_length=MAXLEN)
    with pytest.raises(ExampleError, match="max_length"):
        build_examples(tok, FH, make_df(1), max_length=32)


def test_examples_hash_sensitive(small):
    _, tok = small
    a = build_examples(tok, FH, make_df(4), max_length=MAXLEN)
    b = build_examples(tok, FH, make_df(4), max_length=MAXLEN)
    c = build_examples(tok, FH, make_df(4), fmt="cot", max_length=MAXLEN)
    assert examples_hash(a) == examples_hash(b) != examples_hash(c)
    assert examples_hash(a) != examples_hash(a[::-1])


def test_bucketed_batches_deterministic_and_complete():
    lengths = [5, 9, 3, 7, 2, 8, 1, 4, 6, 10]
    b1 = bucketed_batches(lengths, 3, seed=0, epoch=0, bucket_size=2)
    assert b1 == bucketed_batches(lengths, 3, seed=0, epoch=0, bucket_size=2)
    assert b1 != bucketed_batches(lengths, 3, seed=0, epoch=1, bucket_size=2)
    assert sorted(i for b in b1 for i in b) == list(range(10))


def test_supervised_logits_match_full_forward(small, cot_examples):
    model, tok = small
    batch = collate(cot_examples[:3], [0, 1, 2], tok.pad_token_id)
    got = supervised_logits(model, batch)
    with torch.no_grad():
        full = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    torch.testing.assert_close(got, full[batch.pos_b, batch.pos_t], rtol=1e-4, atol=1e-5)


def test_cache_round_trip(teacher, small, cot_examples, cot_cache):
    _, tok = small
    assert cot_cache.n == len(cot_examples) and cot_cache.fmt == "cot" and cot_cache.k == 32
    batch = collate(cot_examples[5:6], [0], tok.pad_token_id)
    want = torch.log_softmax(supervised_logits(teacher, batch), -1).topk(32, -1)
    ids, lps, tail = cot_cache.get(5)
    assert ids.shape == (cot_examples[5].n_supervised, 32)
    assert torch.equal(ids, want.indices)
    torch.testing.assert_close(lps, want.values, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(tail.exp() + lps.exp().sum(-1), torch.ones_like(tail), rtol=1e-4, atol=1e-5)
    assert cot_cache.lookup(cot_examples[5]) == 5


def test_cache_mismatch_errors(small, cot_examples, cot_cache, tmp_path):
    _, tok = small
    TopKCache.open(cot_cache.path, expect_teacher=cot_cache.teacher_hash,
                   expect_data=examples_hash(cot_examples), expect_fmt="cot")
    with pytest.raises(CacheError, match="another teacher"):
        TopKCache.open(cot_cache.path, expect_teacher="0123456789abcdef")
    with pytest.raises(CacheError, match="another dataset"):
        TopKCache.open(cot_cache.path, expect_data="0123456789abcdef")
    with pytest.raises(CacheError, match="another format"):
        TopKCache.open(cot_cache.path, expect_fmt="label")
    assert cot_cache.task_hash == FH.hash
    with pytest.raises(CacheError, match="another task"):
        TopKCache.open(cot_cache.path, expect_task=load_task("finheadlines-coarse").hash)
    with pytest.raises(CacheError, match="not found"):
        TopKCache.open(tmp_path / "nope")
    other = build_examples(tok, FH, make_df(3, offset=100), fmt="cot", max_length=MAXLEN)
    with pytest.raises(CacheError, match="'h100' is not in the teacher cache"):
        cot_cache.check_examples(other)
    changed = build_examples(tok, FH, make_df(3), fmt="cot", traces={"h0": "different"}, max_length=MAXLEN)
    with pytest.raises(CacheError, match="tokenised differently"):
        cot_cache.check_examples(changed)
    labels = build_examples(tok, FH, make_df(3), fmt="label", max_length=MAXLEN)
    with pytest.raises(CacheError, match="format"):
        cot_cache.check_examples(labels)


def test_cache_resumes_and_refuses_other_plan(teacher, small, cot_examples, tmp_path):
    _, tok = small
    out = tmp_path / "c"
    write_topk_cache(teacher, tok, cot_examples, out, k=8, shard_examples=10, quiet=True)
    shards = sorted(out.glob("shard-*.safetensors"))
    assert len(shards) == 3
    first = shards[0].read_bytes()
    # simulate a crash after shard 0: drop the later shards and the completion marker
    (out / "meta.json").unlink()
    shards[2].unlink()
    with pytest.raises(CacheError, match="unfinished"):
        TopKCache.open(out)
    mtime0 = shards[0].stat().st_mtime_ns
    write_topk_cache(teacher, tok, cot_examples, out, k=8, shard_examples=10, quiet=True)
    assert shards[0].stat().st_mtime_ns == mtime0 and shards[0].read_bytes() == first  # not recomputed
    assert TopKCache.open(out).get(23)[0].shape[1] == 8
    with pytest.raises(CacheError, match="another plan"):
        write_topk_cache(teacher, tok, cot_examples, out, k=4, shard_examples=10, quiet=True)
    with pytest.raises(CacheError, match="another plan.*task_hash"):
        write_topk_cache(teacher, tok, cot_examples, out, k=8, shard_examples=10, quiet=True, task_hash=FH.hash)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["complete"] and meta["n"] == len(cot_examples)
