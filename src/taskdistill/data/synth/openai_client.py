"""Minimal client for any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, NIM, llama.cpp
server, OpenAI itself), stdlib only so it works wherever the package imports.

Why not the ``openai`` SDK: one POST is all we need, and the SDK's own retry policy would hide what
the pipeline must count and log. Here retries are explicit: connection errors, timeouts, HTTP 429 and
5xx are retried with exponential backoff (``backoff * 2**attempt`` seconds, capped); any other 4xx is a
caller error and raised at once. The API key is read from an environment variable (never a CLI flag,
so it does not land in shell history or process lists); a missing key is fine for local servers.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from taskdistill.errors import TaskdistillError


class ChatClientError(TaskdistillError, RuntimeError):
    """The endpoint failed for good (after retries) or answered something that is not a completion."""


@dataclass
class ChatClient:
    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0
    attempts_log: list = field(default_factory=list)  # (status or error name) per attempt, for stats/tests

    @classmethod
    def from_env(cls, prefix: str = "TASKDISTILL_OPENAI", **overrides) -> ChatClient:
        """Build from ``<prefix>_BASE_URL`` and ``<prefix>_MODEL`` (key: ``<prefix>_API_KEY``, unless
        ``api_key_env`` names another variable)."""
        base = overrides.pop("base_url", None) or os.environ.get(f"{prefix}_BASE_URL")
        model = overrides.pop("model", None) or os.environ.get(f"{prefix}_MODEL")
        if not base or not model:
            raise ChatClientError(f"set {prefix}_BASE_URL and {prefix}_MODEL (or pass base_url= and model=)")
        key_env = overrides.pop("api_key_env", None) or f"{prefix}_API_KEY"
        return cls(base_url=base, model=model, api_key_env=key_env, **overrides)

    @property
    def url(self) -> str:
        base = self.base_url.rstrip("/")
        return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")

    def _request(self, payload: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        req = urllib.request.Request(self.url, data=json.dumps(payload).encode(), headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def chat(self, messages: list[dict], temperature: float = 1.0, max_tokens: int = 64, n: int = 1,
             seed: int | None = None, **extra) -> list[str]:
        """Completion texts (``n`` choices) for one conversation."""
        payload = dict(model=self.model, messages=messages, temperature=temperature, max_tokens=max_tokens, n=n,
                       **extra)
        if seed is not None:
            payload["seed"] = seed
        last = None
        for attempt in range(self.max_retries + 1):
            try:
                body = self._request(payload)
                self.attempts_log.append(200)
                try:
                    return [c["message"]["content"] or "" for c in body["choices"]]
                except (KeyError, TypeError) as exc:
                    raise ChatClientError(f"{self.url}: response has no choices[].message.content: "
                                          f"{str(body)[:200]}") from exc
            except urllib.error.HTTPError as exc:
                self.attempts_log.append(exc.code)
                detail = exc.read().decode("utf-8", "replace")[:200]
                if exc.code != 429 and exc.code < 500:
                    raise ChatClientError(f"{self.url}: HTTP {exc.code}: {detail}") from exc
                last = f"HTTP {exc.code}: {detail}"
            except TimeoutError as exc:
                self.attempts_log.append("timeout")
                last = f"timeout after {self.timeout}s ({exc})"
            except urllib.error.URLError as exc:
                name = "timeout" if isinstance(exc.reason, TimeoutError | socket.timeout) else "urlerror"
                self.attempts_log.append(name)
                last = f"{name}: {exc.reason}"
            if attempt < self.max_retries:
                time.sleep(min(self.max_backoff, self.backoff * 2**attempt))
        raise ChatClientError(f"{self.url}: gave up after {self.max_retries + 1} attempts; last error: {last}")
