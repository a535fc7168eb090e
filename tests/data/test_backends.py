"""Model backends: the OpenAI-compatible client against a local HTTP server (200, 500, timeout,
4xx), and the hf backend's batched generation with a tiny model."""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from taskdistill.data.synth.backends import HFBackend, OpenAIBackend, clean_completion, generation_messages
from taskdistill.data.synth.openai_client import ChatClient, ChatClientError
from taskdistill.task import load_task

FIN = load_task("finheadlines")


class _Server:
    """Speaks POST /v1/chat/completions; ``script`` is a list of actions consumed per request:
    ("ok", text) | ("status", code) | ("sleep", seconds)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(dict(path=self.path, body=body, auth=self.headers.get("Authorization")))
                kind, arg = outer.script.pop(0) if outer.script else ("ok", "Default headline about Apple")
                if kind == "sleep":
                    time.sleep(arg)
                    kind, arg = "ok", "late"
                if kind == "status":
                    self.send_response(arg)
                    self.end_headers()
                    self.wfile.write(b'{"error": "boom"}')
                    return
                data = json.dumps({"id": "x", "object": "chat.completion", "model": body["model"],
                                   "choices": [{"index": 0, "message": {"role": "assistant", "content": arg},
                                                "finish_reason": "stop"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    servers = []

    def make(script):
        s = _Server(script)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_chat_ok_sends_model_key_and_messages(server, monkeypatch):
    s = server([("ok", "Apple Q3 EPS $1.26 Beats $1.19 Estimate")])
    monkeypatch.setenv("MY_KEY", "sekret")
    c = ChatClient(s.url, "local-model", api_key_env="MY_KEY", backoff=0.01)
    out = c.chat([{"role": "user", "content": "hi"}], max_tokens=20, seed=3)
    assert out == ["Apple Q3 EPS $1.26 Beats $1.19 Estimate"]
    req = s.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sekret"
    assert req["body"]["model"] == "local-model" and req["body"]["seed"] == 3 and req["body"]["max_tokens"] == 20


def test_500_is_retried_then_succeeds(server):
    s = server([("status", 500), ("status", 503), ("ok", "Boeing to cut 2,000 jobs")])
    c = ChatClient(s.url + "/v1", "m", backoff=0.01)
    assert c.chat([{"role": "user", "content": "x"}]) == ["Boeing to cut 2,000 jobs"]
    assert c.attempts_log == [500, 503, 200] and len(s.requests) == 3


def test_persistent_500_gives_up_with_clear_error(server):
    s = server([("status", 500)] * 3)
    c = ChatClient(s.url, "m", max_retries=2, backoff=0.01)
    with pytest.raises(ChatClientError, match=r"gave up after 3 attempts; last error: HTTP 500"):
        c.chat([{"role": "user", "content": "x"}])


def test_timeout_is_retried(server):
    s = server([("sleep", 1.0), ("ok", "Fitch downgrades Ford to BB+")])
    c = ChatClient(s.url, "m", timeout=0.3, max_retries=2, backoff=0.01)
    assert c.chat([{"role": "user", "content": "x"}]) == ["Fitch downgrades Ford to BB+"]
    assert c.attempts_log[0] == "timeout" and c.attempts_log[-1] == 200


def test_client_error_is_not_retried(server):
    s = server([("status", 400)])
    c = ChatClient(s.url, "m", backoff=0.01)
    with pytest.raises(ChatClientError, match="HTTP 400"):
        c.chat([{"role": "user", "content": "x"}])
    assert len(s.requests) == 1


def test_from_env(monkeypatch):
    monkeypatch.delenv("TASKDISTILL_OPENAI_BASE_URL", raising=False)
    with pytest.raises(ChatClientError, match="TASKDISTILL_OPENAI_BASE_URL"):
        ChatClient.from_env()
    monkeypatch.setenv("TASKDISTILL_OPENAI_BASE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("TASKDISTILL_OPENAI_MODEL", "m")
    c = ChatClient.from_env(timeout=5)
    assert c.model == "m" and c.api_key_env == "TASKDISTILL_OPENAI_API_KEY" and c.timeout == 5


def test_openai_backend_generates_per_label(server):
    s = server([("ok", '- "Goldman upgrades Apple to Buy"\nsecond line'), ("ok", "Boeing to cut 2,000 jobs")])
    b = OpenAIBackend(ChatClient(s.url, "m", backoff=0.01), FIN)
    out = b.generate(["rating upgrade", "layoffs"], {"Analyst Rating": ["Citi upgrades Ford to Buy"]}, random.Random(0))
    assert [x.headline for x in out] == ["Goldman upgrades Apple to Buy", "Boeing to cut 2,000 jobs"]
    assert [x.label for x in out] == ["rating upgrade", "layoffs"]
    prompt = s.requests[0]["body"]["messages"][1]["content"]
    assert "rating upgrade" in prompt and "Citi upgrades Ford to Buy" in prompt


def test_prompt_and_cleaning():
    m = generation_messages(FIN, "layoffs", ["A", "B"])
    assert m[0]["role"] == "system" and "- A\n- B" in m[1]["content"]
    defn = FIN.labels[FIN.index("layoffs")].definition
    assert m[1]["content"].startswith(f"Label: layoffs (Labour Issues). {defn}")
    assert "headline" in m[0]["content"] and FIN.description in m[0]["content"]
    assert clean_completion('\n\n* "X cuts jobs"\nmore') == "X cuts jobs"
    assert clean_completion("   ") == ""


@pytest.fixture(scope="module")
def tiny_backend():
    return HFBackend("tiny:llama", FIN, batch_size=3, max_new_tokens=6)


def test_hf_backend_tiny_model_batched(tiny_backend):
    labels = ["layoffs", "merger", "other", "shares rise"]
    out = tiny_backend.generate(labels, {}, random.Random(0))
    assert len(out) == 4 and [x.label for x in out] == labels
    assert all(isinstance(x.headline, str) and x.kind == "hf" for x in out)
    again = tiny_backend.generate(labels, {}, random.Random(0))
    assert [x.headline for x in out] == [x.headline for x in again]  # seeded sampling


def test_pipeline_runs_with_hf_backend_and_filters_garbage(tiny_backend, tmp_path):
    """The random tiny model writes junk: the real code path must count it by reason, not crash."""
    from taskdistill.data.synth.embed import shared_embedder
    from taskdistill.data.synth.pipeline import SynthConfig, load_corpus, run_pipeline

    cfg = SynthConfig(backend="hf", hf_model="tiny:llama", size=50, batch_size=9, seed=0)
    run_pipeline(tmp_path / "hf", cfg, FIN, quiet=True, embedder=shared_embedder(), backend=tiny_backend, stop_after=1)
    rows, _, hist = load_corpus(tmp_path / "hf", FIN)
    h = hist[0]
    assert h["generated"] == 9 and h["malformed"] + h["exact_duplicates"] + h["near_duplicates"] + h["kept"] == 9
    assert h["malformed"] == sum(h["malformed_by_reason"].values()) and h["malformed"] > 0
    assert len(rows) == h["kept"]
