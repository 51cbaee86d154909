"""LocalLM: the embedded SmolLM2 model through mipro, and its settings."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mipro import ChainOfThought, ConfigurationError, ContextWindowError, Predict
from mipro.lm import LMRequest, LocalLM, SQLiteCache
from mipro.lm.local import default_model_path

QUESTION = "Question: What is the capital of France?\nAnswer:"
YES_NO = 'root ::= " yes" | " no"'


def test_missing_model_file_is_a_configuration_error_naming_it(tmp_path: Path):
    missing = tmp_path / "nowhere.gguf"
    with pytest.raises(ConfigurationError, match=f"no GGUF model file at {missing}"):
        LocalLM(missing)


def test_default_model_is_the_bundled_smollm2():
    assert default_model_path().name.startswith("SmolLM2-135M-Instruct")


def test_model_id_names_the_file_and_the_settings_that_change_outputs():
    plain = LocalLM(cache=False)
    free = LocalLM(cache=False, constrained=False, seed=3)
    assert plain.model_id.startswith(f"local:{default_model_path().name}:")
    assert plain.model_id != free.model_id and free.model_id.endswith("seed=3:unconstrained")
    assert plain.capabilities.grammar and not free.capabilities.grammar


def test_identity_names_the_model_file_by_path_size_and_hash(tmp_path: Path):
    original = LocalLM(cache=False).identity
    assert original["path"] == str(default_model_path().resolve())
    assert original["size"] == str(default_model_path().stat().st_size)
    fake = tmp_path / "fake.gguf"  # the identity is read from the file, without loading it
    fake.write_bytes(bytes(2 << 20))
    before = LocalLM(fake, cache=False, seed=1).identity
    with fake.open("r+b") as file:
        file.seek(100)
        file.write(b"changed")
    after = LocalLM(fake, cache=False, seed=1).identity
    assert before["size"] == after["size"] == str(2 << 20) and before["seed"] == "1"
    assert before["sha256_first_mib"] != after["sha256_first_mib"]


@pytest.mark.parametrize("bad", [{"n_ctx": 0}, {"slots": 0}, {"n_threads": 0},
                                 {"prompt_format": "xml"}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ConfigurationError):
        LocalLM(cache=False, **bad)


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> LocalLM:
    return LocalLM(n_ctx=1024, cache=SQLiteCache(tmp_path_factory.mktemp("cache") / "c.sqlite"))


@pytest.fixture(scope="module")
def uncached() -> LocalLM:
    return LocalLM(n_ctx=1024, cache=False)


@pytest.mark.real_lm
def test_predict_returns_a_parsed_answer(lm):
    prediction = Predict("question -> answer", lm=lm, max_tokens=24)(
        question="What is the capital of France?")
    assert isinstance(prediction.answer, str) and prediction.answer.strip()
    assert lm.usage.snapshot().prompt_tokens > 0


@pytest.mark.real_lm
def test_chain_of_thought_returns_reasoning_and_answer(lm):
    prediction = ChainOfThought("question -> answer", lm=lm, max_tokens=96)(
        question="Tom has 3 apples and buys 2 more. How many apples does he have?")
    assert prediction.reasoning.strip() and prediction.answer.strip()


@pytest.mark.real_lm
def test_cached_call_does_not_run_the_model(lm):
    request = LMRequest(prompt=QUESTION, max_tokens=8, stop=("\n",))
    first = lm(request)
    before = lm.usage.snapshot()
    again = lm(request)
    used = lm.usage.snapshot() - before
    assert again.cached and again.texts == first.texts
    assert (used.calls, used.cache_hits) == (0, 1)


@pytest.mark.real_lm
def test_greedy_decoding_is_deterministic(uncached):
    request = LMRequest(prompt="The three primary colours are", max_tokens=16)
    texts = [uncached(request).text for _ in range(2)]
    fresh = LocalLM(n_ctx=1024, cache=False, prefix_reuse=False)
    texts.append(fresh(request).text)
    assert texts[0] and texts.count(texts[0]) == 3


@pytest.mark.real_lm
def test_concurrent_requests_give_the_sequential_replies(uncached):
    requests = [LMRequest(prompt=f"Q: What is {n} plus {n}?\nA:", max_tokens=8) for n in range(6)]
    sequential = [uncached(request).text for request in requests]
    with ThreadPoolExecutor(3) as pool:
        concurrent = list(pool.map(lambda request: uncached(request).text, requests))
    assert concurrent == sequential


@pytest.mark.real_lm
def test_sampling_reproduces_per_rollout(uncached):
    request = LMRequest(prompt="Once upon a time", temperature=1.0, n=2, max_tokens=12)
    first, again = uncached(request), uncached(request)
    other = uncached(LMRequest(prompt="Once upon a time", temperature=1.0, n=2, max_tokens=12,
                               rollout=1))
    assert first.texts == again.texts and len(first.texts) == 2
    assert first.texts[0] != first.texts[1] and other.texts != first.texts


@pytest.mark.real_lm
def test_grammar_restricts_the_reply(uncached):
    prompts = ["Is the sky blue? Answer:", "Is fire cold? Answer:", "Write a poem:"]
    replies = [uncached(LMRequest(prompt=p, grammar=YES_NO, max_tokens=8)).text for p in prompts]
    assert set(replies) <= {" yes", " no"}


@pytest.mark.real_lm
def test_json_schema_gives_valid_json(uncached):
    schema = {"type": "object", "properties": {"city": {"type": "string"},
                                               "population": {"type": "integer"}},
              "required": ["city", "population"]}
    reply = uncached(LMRequest(prompt="Describe Paris as JSON:", json_schema=schema, max_tokens=48))
    value = json.loads(reply.text)
    assert list(value) == ["city", "population"] and isinstance(value["population"], int)


@pytest.mark.real_lm
def test_invalid_grammar_is_a_configuration_error(uncached):
    with pytest.raises(ConfigurationError, match="cannot parse the GBNF grammar"):
        uncached(LMRequest(prompt="x", grammar='root ::= ("unclosed"'))


@pytest.mark.real_lm
def test_chat_request_uses_the_models_chat_template(uncached):
    request = LMRequest(messages=({"role": "user", "content": "Say hello."},), max_tokens=12)
    reply = uncached(request)
    assert reply.text.strip() and reply.usage.prompt_tokens == uncached.count_tokens(request)
    assert uncached.count_tokens(request) > uncached.count_tokens(LMRequest(prompt="Say hello."))


@pytest.mark.real_lm
def test_over_long_prompt_raises_context_window_error(uncached):
    before = uncached.usage.snapshot()
    with pytest.raises(ContextWindowError) as raised:
        uncached(LMRequest(prompt="word " * 1500))
    assert raised.value.context_window == 1024 and raised.value.prompt_tokens > 1024
    used = uncached.usage.snapshot() - before
    assert (used.calls, used.errors) == (0, 1)


@pytest.mark.real_lm
def test_max_tokens_is_clipped_to_the_room_left():
    small = LocalLM(n_ctx=256, slots=1, n_threads=1, cache=False)
    prompt = "count: " + "one two three " * 75
    tokens = small.count_tokens(LMRequest(prompt=prompt))
    assert 256 - 60 < tokens < 256 - 16
    reply = small(LMRequest(prompt=prompt, max_tokens=500))
    assert 0 < reply.usage.completion_tokens <= 256 - tokens
