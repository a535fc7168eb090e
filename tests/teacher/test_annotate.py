"""annotate end to end on a tiny teacher: real label scoring, real top-k caches, traces from a local
OpenAI-compatible HTTP server (the tiny random model cannot write parseable traces itself)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
import torch

from taskdistill.targets import AnnotationError, load_annotations
from taskdistill.teacher import annotate as annotate_mod
from taskdistill.teacher.annotate import annotate
from taskdistill.teacher.config import GenerationConfig

from .conftest import FH

LABELS = FH.label_names


class _Teacher(BaseHTTPRequestHandler):
    """Answers cot prompts: rows i % 4 == 1 get a wrong label, i % 4 == 2 an unparseable reply."""

    requests: list[str] = []
    fail = False

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        headline = body["messages"][-1]["content"]
        type(self).requests.append(headline)
        if type(self).fail:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(b"bad request")
            return
        label = next(lbl for lbl in sorted(LABELS, key=len, reverse=True) if lbl in headline)
        i = int(headline.rsplit(" ", 1)[-1])
        if i % 4 == 1:
            label = LABELS[(FH.index(label) + 1) % len(LABELS)]
        text = f"<think>It says {label}.</think>\n[[{label}]]" if i % 4 != 2 else "I think it is news."
        out = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Teacher.requests, _Teacher.fail = [], False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Teacher)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_openai_traces_local_logits_and_resume(dataset_dir, server, monkeypatch):
    monkeypatch.setattr(annotate_mod, "TRACE_CHUNK", 4)
    monkeypatch.setattr(annotate_mod, "LABEL_CHUNK", 5)
    gen = GenerationConfig(base_url=server, model="m", max_new_tokens=16)
    kw = dict(k=8, backend="openai", policy="drop", gen=gen, max_length=400, quiet=True, batch_size=4)
    # the endpoint breaks after the first chunk: the saved chunk survives, the rerun resumes after it
    calls = {"n": 0}
    import taskdistill.teacher.generate as gen_mod

    orig = gen_mod.generate_openai

    def flaky(task, texts, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            _Teacher.fail = True
        return orig(task, texts, max_retries=0, **kwargs)

    monkeypatch.setattr(gen_mod, "generate_openai", flaky)
    with pytest.raises(AnnotationError, match=r"failed on rows 4\.\.7 .* rerun to resume"):
        annotate("tiny:llama", dataset_dir, **kw)
    assert len(_Teacher.requests) == 5  # 4 ok + 1 failed
    _Teacher.fail, _Teacher.requests = False, []
    path = annotate("tiny:llama", dataset_dir, **kw)
    assert len(_Teacher.requests) == 8  # only rows 4..11 were generated again

    ann = load_annotations(path)
    assert ann.formats == ("label", "cot") and ann.meta["n_rows"] == 12
    # the folder records its task; a consumer working on another task is refused
    assert ann.task.hash == FH.hash and ann.meta["task"] == {"name": "finheadlines", "hash": FH.hash}
    assert (path / "task.yaml").is_file() and ann.topk_cache("label").task_hash == FH.hash
    with pytest.raises(AnnotationError, match="made for task 'finheadlines'.*'finheadlines-coarse'"):
        load_annotations(path, "finheadlines-coarse")
    labels = ann.labels()
    assert list(labels["id"]) == [f"tr{i}" for i in range(12)]
    probs = np.stack(labels["probs"].to_numpy())
    assert probs.shape == (12, 35) and np.allclose(probs.sum(1), 1, atol=1e-4)
    assert (labels["teacher_label"] == [LABELS[j] for j in probs.argmax(1)]).all()

    tr = ann.traces()
    assert tr["agrees"].sum() == 6 and (~tr["agrees"] & tr["parsed_label"].notna()).sum() == 3
    assert tr["parsed_label"].isna().sum() == 3 and tr["kept"].sum() == 6  # policy drop
    assert ann.meta["traces"]["kept"] == 6

    cot = ann.frame("cot")
    assert list(cot["id"]) == [f"tr{i}" for i in range(12) if i % 4 in (0, 3)]  # no limit: every row
    assert all(r.startswith("It says") for r in cot["rationale"])

    from taskdistill.models import load_model

    _, tok = load_model("tiny:llama")
    for fmt, n in (("label", 12), ("cot", 6)):
        ex = ann.examples(tok, fmt)
        cache = ann.topk_cache(fmt)
        assert len(ex) == n == len(cache) and cache.k == 8
        assert cache.check_examples(ex) == list(range(n))
        ids, lp, tail = cache.get(0)
        assert ids.shape == (ex[0].n_supervised, 8) and lp.shape == ids.shape and tail.shape[0] == ids.shape[0]
        assert (lp <= 0).all()
    # what each supervision trains from: blended = traced rows + every answer-only row, one cache
    from taskdistill.targets.cache import MixedCache, TopKCache

    ex, cache = ann.training_set(tok, "blended")
    assert [e.fmt for e in ex] == ["cot"] * 6 + ["label"] * 12 and isinstance(cache, MixedCache)
    idx = cache.check_examples(ex)
    assert idx == list(range(18))
    assert torch.equal(cache.get(idx[6])[0], ann.topk_cache("label").get(0)[0])
    ex, cache = ann.training_set(tok, "blended", label_mix=False, ids={"tr0", "tr3", "tr5"})
    assert [e.id for e in ex] == ["tr0", "tr3"] and isinstance(cache, TopKCache) and cache.fmt == "cot"
    ex, cache = ann.training_set(tok, "label")
    assert len(ex) == 12 and cache.fmt == "label"
    assert annotate("tiny:llama", dataset_dir, **kw) == path  # done: returns at once
    assert len(_Teacher.requests) == 8


def test_relabel_policy_supervises_the_teachers_answer(dataset_dir, server):
    gen = GenerationConfig(base_url=server, model="m", max_new_tokens=16)
    path = annotate(None, dataset_dir, formats=("cot",), backend="openai", policy="relabel", gen=gen,
                    limit=10, cot_limit=8, quiet=True)
    ann = load_annotations(path)
    assert ann.teacher_hash is None and ann.meta["n_rows"] == 10 and ann.meta["traces"]["n"] == 8
    tr = ann.traces()
    # seeded random subsets (kept in file order), the cot rows a subset of the limited rows
    assert list(tr["id"]) == sorted(tr["id"], key=lambda i: int(i[2:])) and len(set(tr["id"])) == 8
    cot = ann.frame("cot")
    src = pd.read_parquet(dataset_dir / "train.parquet").set_index("id")
    idx = [int(i[2:]) for i in tr["id"]]
    assert len(cot) == sum(i % 4 != 2 for i in idx)  # unparseable replies are dropped
    for row in cot.itertuples():
        gold = src.at[row.id, "label"]
        if int(row.id[2:]) % 4 == 1:  # the endpoint answered another class: relabel keeps its answer
            assert row.label != gold and row.label in row.rationale
        else:
            assert row.label == gold
    again = annotate(None, dataset_dir, formats=("cot",), backend="openai", policy="relabel", gen=gen,
                     limit=10, cot_limit=8, quiet=True, seed=1)
    assert again != path and set(load_annotations(again).traces()["id"]) != set(tr["id"])
    with pytest.raises(AnnotationError, match="no labels.parquet"):
        ann.labels()
    with pytest.raises(AnnotationError, match="no top-k cache"):
        ann.cache_dir("cot")


def test_local_backend_labels_and_unusable_traces(dataset_dir):
    path = annotate("tiny:qwen2", dataset_dir, formats=("label",), k=4, limit=6, quiet=True, max_length=400)
    ann = load_annotations(path)
    assert len(ann.labels()) == 6 and ann.topk_cache("label").n == 6
    assert ann.meta["label_accuracy_vs_gold"] == pytest.approx(ann.labels()["correct"].mean())
    # a random tiny model never writes a parseable trace: a clear error, not an empty cache
    with pytest.raises(AnnotationError, match="no usable CoT trace among 3"):
        annotate("tiny:qwen2", dataset_dir, formats=("cot",), k=4, limit=3, quiet=True, max_length=400,
                 gen=GenerationConfig(max_new_tokens=8))
