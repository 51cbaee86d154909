"""A stand-in OpenAI-compatible server on 127.0.0.1: scripted answers, recorded requests."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request the stub received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]  # names in lower case


#: Decides the answer to a request: (HTTP status, JSON payload).
Handler = Callable[[Received], tuple[int, dict[str, Any]]]


def completion(received: Received, text: str = "Answer: 42") -> tuple[int, dict[str, Any]]:
    """A successful OpenAI-shaped reply of the endpoint ``received`` was sent to."""
    usage = {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
    if received.path.endswith("/chat/completions"):
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": text}}
        kind = "chat.completion"
    else:
        choice = {"index": 0, "finish_reason": "stop", "text": text, "logprobs": None}
        kind = "text_completion"
    return 200, {"id": "stub-1", "object": kind, "created": 0, "model": "stub",
                 "choices": [choice], "usage": usage}


def failure(message: str) -> dict[str, Any]:
    """An OpenAI-shaped error payload."""
    return {"error": {"message": message, "type": "invalid_request_error", "code": None}}


class StubServer:
    """Answers every POST with ``handler(request)``; ``received`` lists what came in."""

    def __init__(self, handler: Handler) -> None:
        self.received: list[Received] = []
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(self.path, json.loads(self.rfile.read(length) or b"{}"),
                                    {k.lower(): v for k, v in self.headers.items()})
                stub.received.append(received)
                status, payload = handler(received)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @contextmanager
    def running(self) -> Iterator[StubServer]:
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
