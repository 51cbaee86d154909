"""The simulated LM behind an OpenAI-compatible server on 127.0.0.1, with faults injected.

``SimulatedServer`` answers ``POST /v1/completions`` as ``SimulatedLM`` answers the same
prompt, so an ``OpenAILM(prompt_format="completion", structured="none")`` pointed at it runs
the simulated task over real HTTP, and any configuration's true score is known. One kind of
fault is injected into a share ``rate`` of the requests (chosen by a seeded hash of the
request's number, so a scenario replays exactly):

- ``http_500``: an HTTP 500 error;
- ``rate_limit``: HTTP 429 with ``Retry-After: 1``;
- ``hang``: the reply comes after ``hang_seconds`` (longer than a client's timeout);
- ``trickle``: the reply is sent one byte at a time, over about ``hang_seconds``;
- ``bad_body``: HTTP 200 with an HTML page, cut-off JSON, or JSON without ``choices``.

An ``Outage`` stops the server listening (connections are refused) after a number of
requests, for some seconds or until ``end_outage()``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mipro.lm.base import LMRequest
from mipro.testing.simulated import SimulatedLM, unit_hash
from mipro.testing.stub_server import Received, Reply, StubServer, failure

FAULTS = ("http_500", "rate_limit", "hang", "trickle", "bad_body")


@dataclass(frozen=True)
class Outage:
    """The server stops listening after ``after_requests`` requests, for ``seconds`` (``None``:
    until ``SimulatedServer.end_outage``)."""

    after_requests: int
    seconds: float | None


class SimulatedServer:
    """``SimulatedLM`` served over HTTP with ``fault`` injected into a share ``rate`` of the
    requests and an optional ``outage``. ``requests`` counts every POST received (retries
    too); ``faults_injected`` the faulty answers."""

    def __init__(self, *, fault: str | None = None, rate: float = 0.0,
                 outage: Outage | None = None, seed: int = 0, hang_seconds: float = 3.0,
                 lm: SimulatedLM | None = None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        self.fault, self.rate, self.outage, self.seed = fault, rate, outage, seed
        self.hang_seconds = hang_seconds
        self.lm = lm or SimulatedLM()
        self.requests = 0
        self.faults_injected = 0
        self._lock = threading.Lock()
        self._stub = StubServer(self._answer)
        self.port, self.base_url = self._stub.port, self._stub.base_url
        self._serving: contextlib.AbstractContextManager[StubServer] | None = None
        self._stopping: threading.Thread | None = None
        self._restart: threading.Timer | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[SimulatedServer]:
        self._listen(self._stub)
        try:
            yield self
        finally:
            if self._restart is not None:
                self._restart.cancel()
            if self._stopping is not None:
                self._stopping.join()
            self._stop_listening()

    def end_outage(self) -> None:
        """Listen again (on the same port), if an outage has stopped the server."""
        with self._lock:
            stopping, self._stopping = self._stopping, None
        if stopping is None:
            return
        stopping.join()
        self._listen(StubServer(self._answer, port=self.port))

    def _listen(self, stub: StubServer) -> None:
        self._stub, self._serving = stub, stub.running()
        self._serving.__enter__()

    def _stop_listening(self) -> None:
        serving, self._serving = self._serving, None
        if serving is not None:
            serving.__exit__(None, None, None)

    def _begin_outage(self) -> None:
        # Called from a request handler, which the server's shutdown would wait for: stop
        # listening from another thread.
        with self._lock:
            self._stopping = threading.Thread(target=self._stop_listening, daemon=True)
            self._stopping.start()
        if self.outage is not None and self.outage.seconds is not None:
            self._restart = threading.Timer(self.outage.seconds, self.end_outage)
            self._restart.daemon = True
            self._restart.start()

    def _answer(self, received: Received) -> Reply:
        with self._lock:
            self.requests += 1
            number = self.requests
        if self.outage is not None and number == self.outage.after_requests:
            self._begin_outage()
        fault = self.fault if self.fault and unit_hash(self.seed, "fault", number) < self.rate else None
        if fault is not None:
            with self._lock:
                self.faults_injected += 1
        if fault == "http_500":
            return Reply(500, failure("internal server error"))
        if fault == "rate_limit":
            return Reply(429, failure("rate limit reached"), headers={"Retry-After": "1"})
        if fault == "bad_body":
            return _bad_body(number)
        if fault == "hang":
            time.sleep(self.hang_seconds)
        payload = self._completion(received.body)
        if fault == "trickle":
            data = json.dumps(payload).encode()
            return Reply(200, data, trickle=self.hang_seconds / len(data))
        return Reply(200, payload)

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        request = LMRequest(prompt=str(body.get("prompt", "")), n=int(body.get("n") or 1),
                            max_tokens=int(body.get("max_tokens") or 256),
                            temperature=float(body.get("temperature") or 0.0),
                            rollout=str(body.get("seed", 0)))
        response = self.lm(request)
        choices = [{"index": i, "text": text, "finish_reason": "stop", "logprobs": None}
                   for i, text in enumerate(response.texts)]
        usage = {"prompt_tokens": response.usage.prompt_tokens,
                 "completion_tokens": response.usage.completion_tokens,
                 "total_tokens": response.usage.prompt_tokens + response.usage.completion_tokens}
        return {"id": "simulated", "object": "text_completion", "created": 0,
                "model": "simulated", "choices": choices, "usage": usage}


def _bad_body(number: int) -> Reply:
    """An HTTP 200 that is no completion: an HTML page, cut-off JSON, or JSON without choices."""
    kind = number % 3
    if kind == 0:
        return Reply(200, "<html><body><h1>502 Bad Gateway</h1></body></html>",
                     content_type="text/html")
    if kind == 1:
        return Reply(200, '{"id": "x", "object": "text_completion", "choi')
    return Reply(200, {"id": "x", "object": "text_completion", "model": "simulated"})
