"""A stand-in OpenAI-compatible server on 127.0.0.1: scripted answers, recorded requests.

A handler answers each POST with ``(status, JSON payload)`` or with a ``Reply``, which can also
carry a raw body (HTML, broken JSON, megabytes), headers (``Retry-After``) and a pace at which
the body is trickled. ``GET /v1/models`` lists ``owned_by`` models when given, as servers do.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request the stub received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]  # names in lower case


@dataclass(frozen=True)
class Reply:
    """A scripted answer: ``body`` is sent as is (bytes or text) or as JSON (anything else);
    with ``trickle`` > 0 it is sent one byte every ``trickle`` seconds."""

    status: int = 200
    body: Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    trickle: float = 0.0

    def data(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


#: Decides the answer to a request: (HTTP status, JSON payload) or a ``Reply``.
Handler = Callable[[Received], "tuple[int, dict[str, Any]] | Reply"]


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
    """Answers every POST with ``handler(request)``; ``received`` lists what came in.

    ``owned_by``, when given, is what ``GET /v1/models`` reports as the model's owner (servers
    differ there); otherwise that route answers 404. ``port`` 0 picks a free port.
    """

    def __init__(self, handler: Handler, *, owned_by: str | None = None, port: int = 0) -> None:
        self.received: list[Received] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.model_listings = 0
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and
                # the client's delayed ACK hold every reply for about 40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with stub._lock:
                    stub._connections.add(self.connection)

            def finish(self) -> None:
                with stub._lock:
                    stub._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(self.path, json.loads(self.rfile.read(length) or b"{}"),
                                    {k.lower(): v for k, v in self.headers.items()})
                stub.received.append(received)
                answer = handler(received)
                self._send(answer if isinstance(answer, Reply) else Reply(*answer))

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if self.path.rstrip("/").endswith("/models") and owned_by is not None:
                    stub.model_listings += 1
                    models = {"object": "list", "data": [
                        {"id": "stub-model", "object": "model", "owned_by": owned_by}]}
                    self._send(Reply(200, models))
                else:
                    self._send(Reply(404, failure(f"no route {self.path}")))

            def _send(self, reply: Reply) -> None:
                data = reply.data()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if reply.trickle <= 0:
                        self.wfile.write(data)
                        return
                    for index in range(len(data)):
                        self.wfile.write(data[index:index + 1])
                        self.wfile.flush()
                        time.sleep(reply.trickle)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up, or the server went down

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    @contextmanager
    def running(self) -> Iterator[StubServer]:
        """Serve in a thread; on leaving, stop listening and drop the open connections."""
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            with self._lock:
                open_connections = list(self._connections)
            for connection in open_connections:  # as a server that goes down drops them
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            thread.join()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
