"""OpenAILM against a fault-injecting stub server: every fault is an LMError, retried where
trying again may help, bounded in time, counted, and never leaks a key (issue 14)."""

from __future__ import annotations

import base64
import contextlib
import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mipro import (
    BudgetExhausted,
    LMError,
    LMTimeoutError,
    MalformedReplyError,
    ParseError,
    Predict,
    RateLimitError,
)
from mipro.lm import Attempt, LMRequest, OpenAILM, gate_attempts, redact_url
from mipro.testing.stub_server import Handler, Received, Reply, StubServer, completion, failure

CHAT = LMRequest(messages=({"role": "user", "content": "What is 6 x 7?"},), max_tokens=20)
MB = 1 << 20


@pytest.fixture
def serve() -> Iterator[Callable[..., StubServer]]:
    with contextlib.ExitStack() as stack:
        yield lambda handler, **options: stack.enter_context(
            StubServer(handler, **options).running())


def make_lm(url: str, **options: Any) -> OpenAILM:
    settings: dict[str, Any] = {"cache": False, "backoff": 0.01, "timeout": 5.0, **options}
    return OpenAILM("stub-model", base_url=url, **settings)


def scripted(*first: Reply) -> Handler:
    """Answers with the given replies in order, then with a good completion."""
    replies = list(first)

    def handler(received: Received) -> tuple[int, dict[str, Any]] | Reply:
        return replies.pop(0) if replies else completion(received)

    return handler


MALFORMED = {
    "not JSON": Reply(200, b'{"choices": [{"message": ', content_type="application/json"),
    "HTML": Reply(200, "<html><body><h1>502 Bad Gateway</h1></body></html>",
                  content_type="text/html"),
    "no choices": Reply(200, {"id": "x", "object": "chat.completion", "usage": {}}),
    "empty choices": Reply(200, {"id": "x", "choices": []}),
    "choice without text": Reply(200, {"id": "x", "choices": [{"index": 0}]}),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_bodies_are_retried_then_raise_an_lm_error(serve, body):
    server = serve(lambda received: body)
    lm = make_lm(server.base_url, max_retries=2)
    with pytest.raises(MalformedReplyError) as raised:
        lm(CHAT)
    assert isinstance(raised.value, LMError) and raised.value.retryable
    assert len(server.received) == 3
    used = lm.usage.snapshot()
    assert (used.requests, used.retries, used.errors, used.calls) == (3, 2, 1, 0)


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_body_between_good_ones_is_retried_away(serve, body):
    server = serve(scripted(body))
    lm = make_lm(server.base_url)
    assert lm(CHAT).text == "Answer: 42"
    assert lm.usage.snapshot().retries == 1 and len(server.received) == 2


def timed(handler: Handler) -> tuple[Handler, list[float]]:
    """``handler``, noting when each request arrives."""
    times: list[float] = []

    def noting(received: Received) -> tuple[int, dict[str, Any]] | Reply:
        times.append(time.monotonic())
        return handler(received)

    return noting, times


def test_429_with_retry_after_seconds_waits_that_long(serve):
    handler, times = timed(scripted(Reply(429, failure("slow down"), headers={"Retry-After": "3"})))
    lm = make_lm(serve(handler).base_url)
    assert lm(CHAT).text == "Answer: 42"
    assert 2.9 <= times[1] - times[0] < 4.0
    assert lm.usage.snapshot().retries == 1


def test_503_with_retry_after_as_an_http_date_waits_until_then(serve):
    when = email.utils.formatdate(time.time() + 4, usegmt=True)
    handler, times = timed(scripted(Reply(503, failure("restarting"), headers={"Retry-After": when})))
    lm = make_lm(serve(handler).base_url)
    assert lm(CHAT).text == "Answer: 42"
    # An HTTP date counts whole seconds.
    assert 2.5 <= times[1] - times[0] < 5.0


def test_a_rate_limit_error_names_the_wait_the_server_asked_for(serve):
    server = serve(lambda received: Reply(429, failure("slow down"), headers={"Retry-After": "1"}))
    with pytest.raises(RateLimitError, match="retry after 1 s") as raised:
        make_lm(server.base_url, max_retries=0)(CHAT)
    assert raised.value.retry_after == 1.0


def test_a_trickling_reply_is_cut_off_at_the_timeout(serve):
    _, good = completion(Received("/v1/chat/completions", {}, {}))
    good["padding"] = " " * 800  # 800 bytes at 0.05 s a byte: 40 s of trickle
    server = serve(lambda received: Reply(200, good, trickle=0.05))
    lm = make_lm(server.base_url, timeout=2.0, max_retries=0)
    started = time.monotonic()
    with pytest.raises(LMTimeoutError, match="timeout=2.0"):
        lm(CHAT)
    assert 1.9 <= time.monotonic() - started < 3.0


def test_a_slow_but_steady_reply_within_the_timeout_is_accepted(serve):
    server = serve(lambda received: Reply(*completion(received), trickle=0.002))
    assert make_lm(server.base_url, timeout=5.0, max_retries=0)(CHAT).text == "Answer: 42"


def test_an_outage_that_ends_is_ridden_out_by_the_retries(serve):
    down = StubServer(completion)  # holds a free port, then goes away
    port = down.port
    with down.running():
        pass
    lm = make_lm(f"http://127.0.0.1:{port}/v1", max_retries=8, backoff=0.2)

    def come_back() -> None:
        time.sleep(1.0)
        serve(completion, port=port)

    threading.Thread(target=come_back, daemon=True).start()
    assert lm(CHAT).text == "Answer: 42"
    used = lm.usage.snapshot()
    assert used.retries >= 1 and used.errors == 0 and used.calls == 1


HUGE = "x" * int(2.4 * MB)


@pytest.mark.parametrize("reply", [
    Reply(200, HUGE, content_type="text/plain"),
    Reply(200, f"<html>{HUGE}</html>", content_type="text/html"),
    Reply(500, failure(HUGE)),
    Reply(400, failure(HUGE)),
], ids=["not JSON", "HTML", "500", "400"])
def test_a_huge_reply_is_cut_short_in_the_error_message(serve, reply):
    server = serve(lambda received: reply)
    with pytest.raises(LMError) as raised:
        make_lm(server.base_url, max_retries=0)(CHAT)
    assert len(str(raised.value)) < 2_000 and "more characters" in str(raised.value)


def test_a_huge_reply_that_does_not_parse_is_cut_short_in_the_parse_error(serve):
    server = serve(lambda received: completion(received, HUGE))
    lm = make_lm(server.base_url)
    with pytest.raises(ParseError) as raised:
        Predict("question -> answer: int", lm=lm)(question="6 x 7?")
    assert len(str(raised.value)) < 3_000
    assert raised.value.raw_reply == HUGE
    retried = server.received[1].body["messages"][-1]["content"]
    assert len(retried) < 3_000  # the format reminder quotes the bad reply briefly


SECRET = "sk-url-secret-0123456789"
API_KEY = "sk-api-secret-9876543210"


def test_a_key_in_the_url_never_shows_in_repr_errors_identity_or_logs(serve, caplog):
    server = serve(lambda received: (404, failure("The model `stub-model` does not exist")))
    url = f"http://user:{SECRET}@127.0.0.1:{server.port}/v1"
    shown: list[str] = []
    with caplog.at_level(logging.DEBUG):
        lm = make_lm(url, api_key=API_KEY, max_retries=1)
        with pytest.raises(LMError) as rejected:
            lm(CHAT)
        shown.append(str(rejected.value))
        down = make_lm(f"http://user:{SECRET}@127.0.0.1:1/v1?api_key={SECRET}", max_retries=1)
        with pytest.raises(LMError) as unreachable:
            down(CHAT)
        shown.append(str(unreachable.value))
    shown += [repr(lm), lm.model_id, str(lm.identity), lm.base_url, repr(down), down.model_id,
              str(down.identity), caplog.text]
    for text in shown:
        assert SECRET not in text and API_KEY not in text
    # The URL shown is the server's, without the user-info (sent apart) and with keys masked.
    assert lm.identity == {"backend": "openai", "base_url": server.base_url, "model": "stub-model",
                           "prompt_format": "chat", "structured": "auto"}
    assert "nothing answers at http://127.0.0.1:1/v1?api_key=***" in shown[1]
    # The key still reaches the server, as HTTP basic auth.
    sent = server.received[0].headers["authorization"]
    assert sent == "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()


def test_redact_url_masks_user_info_and_key_parameters():
    assert redact_url(f"https://u:{SECRET}@host:8443/v1?api_key={SECRET}&version=2") == (
        "https://***@host:8443/v1?api_key=***&version=2")
    assert redact_url(f"http://{SECRET}@host/v1") == "http://***@host/v1"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"


class CountingGate:
    """A call budget as an attempt gate: admits ``limit`` requests, then refuses."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: list[Attempt] = []

    def __call__(self, attempt: Attempt) -> None:
        if len(self.seen) >= self.limit:
            raise BudgetExhausted(f"the budget of {self.limit} requests is spent")
        self.seen.append(attempt)


def test_retries_are_counted_and_a_gate_refuses_what_exceeds_the_budget(serve):
    server = serve(lambda received: (500, failure("internal error")))
    lm = make_lm(server.base_url, max_retries=10)
    gate = CountingGate(3)
    with gate_attempts(gate), pytest.raises(BudgetExhausted):
        lm(CHAT)
    assert len(server.received) == 3  # the fourth request was never sent
    assert [attempt.retry for attempt in gate.seen] == [0, 1, 2]
    assert all(attempt.model_id == lm.model_id for attempt in gate.seen)
    used = lm.usage.snapshot()
    assert (used.requests, used.retries, used.errors) == (3, 2, 0)


def test_a_request_cut_off_by_the_timeout_was_paid_for_and_each_retry_too(serve):
    _, good = completion(Received("/v1/chat/completions", {}, {}))
    good["padding"] = " " * 800
    server = serve(lambda received: Reply(200, good, trickle=0.05))
    lm = make_lm(server.base_url, timeout=0.5, max_retries=2)
    gate = CountingGate(10)
    with gate_attempts(gate), pytest.raises(LMTimeoutError):
        lm(CHAT)
    assert [attempt.retry for attempt in gate.seen] == [0, 1, 2]
    assert len(server.received) == 3  # one paid request each, none sent behind the gate's back
    used = lm.usage.snapshot()
    assert (used.requests, used.retries, used.errors, used.calls) == (3, 2, 1, 0)


def test_gates_see_every_request_but_no_cache_hit(serve, tmp_path):
    server = serve(scripted(Reply(503, failure("busy"))))
    lm = make_lm(server.base_url, cache=True)
    outer, inner = CountingGate(10), CountingGate(10)
    with gate_attempts(outer), gate_attempts(inner):
        lm(CHAT)
        lm(CHAT)  # a cache hit sends nothing
    assert [a.retry for a in outer.seen] == [a.retry for a in inner.seen] == [0, 1]
    assert lm.usage.snapshot().cache_hits == 1
    lm(LMRequest(messages=CHAT.messages, rollout=1))  # outside the gates: not seen
    assert len(outer.seen) == 2
