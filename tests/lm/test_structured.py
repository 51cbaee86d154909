"""Structured outputs per server kind: request bodies in each server's documented form, and the
kind detected from the server's ``/models`` listing once per run (issue 14, item 6)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mipro import ConfigurationError, Predict
from mipro.lm import LMCapabilities, LMRequest, OpenAILM
from mipro.lm.gbnf import schema_grammar
from mipro.lm.structured import capabilities, detect_kind, request_fields
from mipro.testing.stub_server import Received, StubServer, completion

SCHEMA = {"type": "object", "properties": {"label": {"enum": ["pos", "neg"]}},
          "required": ["label"], "additionalProperties": False}
GRAMMAR = 'root ::= "Label: " ("pos" | "neg")'
CHAT = LMRequest(messages=({"role": "user", "content": "Great film!"},), json_schema=SCHEMA)
PROMPT = LMRequest(prompt="Review: Great film!\nLabel:", json_schema=SCHEMA)


def test_openai_takes_a_strict_json_schema_response_format_on_chat_only():
    # platform.openai.com/docs/guides/structured-outputs: response_format type json_schema.
    assert request_fields("json_schema", "chat", CHAT) == {"response_format": {
        "type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA, "strict": True}}}
    assert request_fields("json_schema", "completions", PROMPT) == {}
    assert capabilities("json_schema", "completions") == LMCapabilities()


def test_llama_cpp_servers_take_a_grammar_or_a_json_object_schema():
    # llama-cpp-python's server and llama-server: `grammar` (GBNF) on both endpoints, and
    # `response_format: {"type": "json_object", "schema": ...}` on chat.
    assert capabilities("llamacpp", "chat") == LMCapabilities(grammar=True, json_schema=True)
    assert request_fields("llamacpp", "chat", CHAT) == {
        "response_format": {"type": "json_object", "schema": SCHEMA}}
    with_grammar = LMRequest(prompt="Label:", grammar=GRAMMAR)
    assert request_fields("llamacpp", "completions", with_grammar) == {"grammar": GRAMMAR}
    assert request_fields("llamacpp", "chat", LMRequest(messages=CHAT.messages, grammar=GRAMMAR)
                          ) == {"grammar": GRAMMAR}
    assert request_fields("llamacpp", "completions", PROMPT) == {"grammar": schema_grammar(SCHEMA)}


def test_vllm_takes_structured_outputs_on_both_endpoints():
    # docs.vllm.ai/en/latest/features/structured_outputs: extra body
    # {"structured_outputs": {"json": schema}} (guided_json before v0.12).
    assert capabilities("vllm", "completions") == LMCapabilities(json_schema=True)
    assert request_fields("vllm", "chat", CHAT) == {"structured_outputs": {"json": SCHEMA}}
    assert request_fields("vllm", "completions", PROMPT) == {"structured_outputs": {"json": SCHEMA}}


def test_ollama_takes_a_json_schema_response_format_on_chat():
    # Ollama's OpenAI-compatible chat endpoint turns response_format json_schema into its
    # `format`; its completions endpoint takes no format.
    fields = request_fields("ollama", "chat", CHAT)
    assert fields["response_format"]["type"] == "json_schema"
    assert fields["response_format"]["json_schema"]["schema"] == SCHEMA
    assert request_fields("ollama", "completions", PROMPT) == {}


def test_none_sends_nothing_and_a_request_without_a_form_gets_nothing():
    assert request_fields("none", "chat", CHAT) == {}
    assert capabilities("none", "chat") == LMCapabilities()
    plain = LMRequest(messages=CHAT.messages)
    assert all(request_fields(kind, "chat", plain) == {}
               for kind in ("json_schema", "llamacpp", "vllm", "ollama"))


@pytest.mark.parametrize(("owned_by", "kind"), [
    ("llamacpp", "llamacpp"), ("me", "llamacpp"), ("vllm", "vllm"), ("library", "ollama"),
    ("openai", "json_schema"), ("someone", "json_schema"),
])
def test_the_kind_is_read_from_the_owner_of_the_listed_models(owned_by, kind):
    assert detect_kind("http://127.0.0.1:8000/v1", {"data": [{"owned_by": owned_by}]}) == kind


def test_openai_itself_and_servers_without_a_listing_take_json_schema():
    assert detect_kind("https://api.openai.com/v1", None) == "json_schema"
    assert detect_kind("http://127.0.0.1:8000/v1", None) == "json_schema"
    assert detect_kind("http://127.0.0.1:8000/v1", {"data": "nonsense"}) == "json_schema"


@pytest.fixture
def serve() -> Iterator[Callable[..., StubServer]]:
    with contextlib.ExitStack() as stack:
        yield lambda handler, **options: stack.enter_context(
            StubServer(handler, **options).running())


FORM_FIELDS = {"grammar", "response_format", "structured_outputs"}


@pytest.mark.parametrize(("owned_by", "sent"), [
    ("me", {"grammar"}), ("llamacpp", {"grammar"}), ("vllm", {"structured_outputs"}),
    ("library", {"response_format"}), (None, {"response_format"}),
])
def test_predict_on_a_detected_server_sends_its_form(serve, owned_by, sent):
    reply = '{"sentiment": "pos"}' if sent != {"grammar"} else "Sentiment: pos"
    server = serve(lambda received: completion(received, reply), owned_by=owned_by)
    lm = OpenAILM("stub-model", base_url=server.base_url, cache=False)
    predict = Predict("review -> sentiment: Literal['pos', 'neg']", lm=lm)
    assert [predict(review=text).sentiment for text in ("Great!", "Fine.", "Bad.")] == ["pos"] * 3
    assert all(set(r.body) & FORM_FIELDS == sent for r in server.received)
    assert server.model_listings == (0 if owned_by is None else 1)  # detected once per run


def test_a_named_kind_is_not_probed_for(serve):
    server = serve(completion, owned_by="vllm")
    lm = OpenAILM("stub-model", base_url=server.base_url, cache=False, structured="llamacpp")
    lm(PROMPT)
    assert server.model_listings == 0 and "grammar" in server.received[0].body


def test_an_unknown_structured_kind_is_refused():
    with pytest.raises(ConfigurationError, match="structured must be one of"):
        OpenAILM("m", base_url="http://127.0.0.1:1/v1", structured="xml")  # type: ignore[arg-type]


def answer_with_seed(received: Received) -> tuple[int, dict[str, Any]]:
    return completion(received, f"Answer: {received.body.get('seed')}")


def test_predict_sends_the_seed_of_its_rollout_and_the_rollout_salts_the_cache(serve, tmp_path):
    from mipro.program import sampling

    server = serve(answer_with_seed)
    lm = OpenAILM("stub-model", base_url=server.base_url, cache=True, structured="none")
    predict = Predict("question -> answer", lm=lm, max_tokens=8)
    first = predict(question="q").answer
    assert predict(question="q").answer == first and len(server.received) == 1  # cached
    with sampling(rollout="proposal:1"):
        other = predict(question="q").answer
    with sampling(rollout="proposal:1", seed=1234):
        given = predict(question="q").answer
    seeds = [r.body["seed"] for r in server.received]
    assert len(server.received) == 3 and len(set(seeds)) == 3 and seeds[2] == 1234
    assert {first, other, given} == {f"{seed}" for seed in seeds}


def test_a_server_unreachable_at_detection_is_not_taken_for_an_openai_one(serve):
    from mipro import LMUnavailableError

    down = StubServer(completion)  # holds a free port, then goes away
    with down.running():
        pass
    lm = OpenAILM("stub-model", base_url=down.base_url, cache=False, max_retries=0)
    with pytest.raises(LMUnavailableError, match="nothing answers"):
        lm.capabilities
    server = serve(completion, owned_by="llamacpp", port=down.port)
    assert lm.server_kind == "llamacpp" and lm.capabilities.grammar
    assert server.model_listings == 1
