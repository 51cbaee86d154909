"""OpenAILM against a stub OpenAI-compatible server: retries, error mapping, structured outputs."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mipro import ContextWindowError, LMError, LMTimeoutError, LMUnavailableError, Predict
from mipro.lm import LMCapabilities, LMRequest, OpenAILM, SQLiteCache
from mipro.testing.stub_server import Handler, Received, StubServer, completion, failure, free_port

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
CHAT = LMRequest(messages=({"role": "user", "content": "What is 6 x 7?"},), max_tokens=20)
PROMPT = LMRequest(prompt="Question: What is 6 x 7?\nAnswer:", max_tokens=20, stop=("\n",))


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], StubServer]]:
    with contextlib.ExitStack() as stack:
        yield lambda handler: stack.enter_context(StubServer(handler).running())


def make_lm(server: StubServer, **options: Any) -> OpenAILM:
    settings: dict[str, Any] = {"cache": False, "backoff": 0.01, "timeout": 5.0, **options}
    return OpenAILM("stub-model", base_url=server.base_url, **settings)


def test_chat_and_completion_requests_reach_their_endpoints(serve):
    server = serve(completion)
    lm = make_lm(server)
    assert lm(CHAT).text == "Answer: 42"
    assert lm(PROMPT).text == "Answer: 42"
    chat, text = server.received
    assert chat.path == "/v1/chat/completions"
    assert chat.body["messages"] == [{"role": "user", "content": "What is 6 x 7?"}]
    assert chat.body["max_tokens"] == 20 and chat.body["temperature"] == 0.0
    assert text.path == "/v1/completions"
    assert text.body["prompt"] == PROMPT.prompt and text.body["stop"] == ["\n"]
    assert "response_format" not in chat.body and "grammar" not in text.body


def test_usage_comes_from_the_server_report(serve):
    lm = make_lm(serve(completion))
    lm(CHAT)
    used = lm.usage.snapshot()
    assert (used.calls, used.prompt_tokens, used.completion_tokens) == (1, 11, 3)


def test_retries_after_503_and_429_then_succeeds(serve):
    statuses = iter([(503, failure("overloaded")), (429, failure("slow down"))])

    def flaky(received: Received) -> tuple[int, dict[str, Any]]:
        return next(statuses, None) or completion(received)

    server = serve(flaky)
    lm = make_lm(server)
    assert lm(CHAT).text == "Answer: 42"
    assert lm.usage.snapshot().retries == 2
    assert len(server.received) == 3


def test_gives_up_after_max_retries_with_the_last_error(serve):
    server = serve(lambda received: (503, failure("down for maintenance")))
    lm = make_lm(server, max_retries=2)
    with pytest.raises(LMUnavailableError, match="HTTP 503.*down for maintenance"):
        lm(CHAT)
    assert len(server.received) == 3
    assert lm.usage.snapshot().retries == 2 and lm.usage.snapshot().errors == 1


def test_nothing_listening_is_unavailable_and_names_the_url():
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    lm = OpenAILM("m", base_url=base_url, cache=False, timeout=2.0, max_retries=2, backoff=0.01)
    with pytest.raises(LMUnavailableError, match=f"nothing answers at {base_url}"):
        lm(CHAT)
    assert lm.usage.snapshot().retries == 2


def test_slow_server_times_out(serve):
    def slow(received: Received) -> tuple[int, dict[str, Any]]:
        time.sleep(1.0)
        return completion(received)

    lm = make_lm(serve(slow), timeout=0.2, max_retries=0)
    with pytest.raises(LMTimeoutError, match="timeout=0.2"):
        lm(CHAT)


def test_client_errors_are_not_retried(serve):
    server = serve(lambda received: (404, failure("The model `stub-model` does not exist")))
    lm = make_lm(server)
    with pytest.raises(LMError, match="HTTP 404.*does not exist") as raised:
        lm(CHAT)
    assert not raised.value.retryable
    assert len(server.received) == 1 and lm.usage.snapshot().retries == 0


def test_context_overflow_becomes_context_window_error(serve):
    message = ("This model's maximum context length is 2048 tokens. However, you requested 2100 "
               "tokens (2080 in the messages, 20 in the completion).")
    lm = make_lm(serve(lambda received: (400, failure(message))))
    with pytest.raises(ContextWindowError) as raised:
        lm(CHAT)
    assert (raised.value.prompt_tokens, raised.value.context_window) == (2080, 2048)


def test_openai_kind_sends_json_schema_on_chat_and_nothing_on_completions(serve):
    server = serve(completion)
    lm = make_lm(server, structured="json_schema")
    assert lm.capabilities == LMCapabilities(json_schema=True)
    lm(LMRequest(messages=CHAT.messages, json_schema=SCHEMA))
    lm(LMRequest(prompt="Q:", json_schema=SCHEMA))
    chat, text = server.received
    assert chat.body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA, "strict": True},
    }
    assert not {"grammar", "response_format", "structured_outputs"} & set(text.body)
    assert make_lm(server, structured="json_schema", prompt_format="completion").capabilities == (
        LMCapabilities())


def refuse_structured(received: Received) -> tuple[int, dict[str, Any]]:
    if "response_format" in received.body or "grammar" in received.body:
        return 400, failure("response_format of type json_schema is not supported by this model")
    return completion(received)


def test_refused_structured_outputs_fall_back_and_are_remembered(serve, caplog):
    server = serve(refuse_structured)
    lm = make_lm(server)
    with caplog.at_level(logging.WARNING, logger="mipro.lm.openai_lm"):
        first = lm(LMRequest(messages=CHAT.messages, json_schema=SCHEMA))
        second = lm(LMRequest(messages=CHAT.messages, json_schema=SCHEMA, rollout=1))
    assert first.text == second.text == "Answer: 42"
    sent_format = ["response_format" in received.body for received in server.received]
    assert sent_format == [True, False, False]
    assert not lm.capabilities.json_schema
    assert len([r for r in caplog.records if "refused structured outputs" in r.message]) == 1
    assert lm.usage.snapshot().errors == 0


def test_refusal_on_completions_does_not_affect_chat(serve):
    server = serve(lambda r: refuse_structured(r) if "grammar" in r.body else completion(r))
    lm = make_lm(server, prompt_format="completion", structured="llamacpp")
    lm(LMRequest(prompt="Q:", json_schema=SCHEMA))
    lm(LMRequest(messages=CHAT.messages, json_schema=SCHEMA))
    assert [sorted(set(r.body) & {"grammar", "response_format"}) for r in server.received] == [
        ["grammar"], [], ["response_format"],
    ]
    assert not lm.capabilities.json_schema and not lm.capabilities.grammar


def test_predict_parses_a_json_reply_from_the_server(serve):
    server = serve(lambda received: completion(received, '{"answer": "42"}'))
    assert Predict("question -> answer", lm=make_lm(server))(question="6 x 7?").answer == "42"


def test_server_ignoring_n_is_asked_until_n_completions(serve):
    server = serve(completion)
    response = make_lm(server)(LMRequest(prompt="Q:", temperature=1.0, n=3, seed=5))
    assert response.texts == ("Answer: 42",) * 3
    assert [r.body.get("n") for r in server.received] == [3, 2, None]
    assert [r.body["seed"] for r in server.received] == [5, 6, 7]


def test_api_key_stays_out_of_repr_model_id_logs_and_cache(serve, tmp_path: Path, caplog):
    key = "sk-test-secret-0123456789"
    server = serve(refuse_structured)
    cache_path = tmp_path / "cache.sqlite"
    lm = make_lm(server, api_key=key, cache=SQLiteCache(cache_path))
    with caplog.at_level(logging.DEBUG):
        lm(LMRequest(messages=CHAT.messages, json_schema=SCHEMA))
    assert server.received[0].headers["authorization"] == f"Bearer {key}"
    assert key not in repr(lm) and key not in lm.model_id
    assert lm.model_id == f"openai:{server.base_url}:stub-model"
    assert key not in caplog.text
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    assert b"Answer: 42" in stored and key.encode() not in stored


def test_concurrent_calls_share_the_client_and_the_refusal(serve, caplog):
    server = serve(refuse_structured)
    lm = make_lm(server)
    requests = [LMRequest(messages=CHAT.messages, json_schema=SCHEMA, rollout=i) for i in range(8)]
    with caplog.at_level(logging.WARNING, logger="mipro.lm.openai_lm"), \
            ThreadPoolExecutor(4) as pool:
        texts = [response.text for response in pool.map(lm, requests)]
    assert texts == ["Answer: 42"] * 8
    assert lm.usage.snapshot().calls == 8 and not lm.capabilities.json_schema
    assert len([r for r in caplog.records if "refused structured outputs" in r.message]) == 1
