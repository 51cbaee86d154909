"""OpenAILM against a real llama.cpp server (llama-cpp-python's) running the bundled model."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mipro.lm import LMRequest, OpenAILM
from mipro.lm.local import default_model_path
from mipro.testing.stub_server import free_port

pytestmark = pytest.mark.real_lm

STARTUP_SECONDS = 90


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(default_model_path()),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024",
             # One thread for prompts too: with two, a call costs 3x the CPU on a busy machine.
             "--n_threads", "1", "--n_threads_batch", "1", "--verbose", "False"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}/v1"
        _wait_until_ready(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the llama.cpp server exited early:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    pytest.fail(f"the llama.cpp server did not answer within {STARTUP_SECONDS} s")


def test_chat_endpoint_answers(server_url):
    lm = OpenAILM("smollm2", base_url=server_url, cache=False)
    reply = lm(LMRequest(messages=({"role": "user", "content": "Say hello."},), max_tokens=12))
    assert reply.text.strip()
    used = lm.usage.snapshot()
    assert used.calls == 1 and used.prompt_tokens > 0 and 0 < used.completion_tokens <= 12


def test_completions_endpoint_honours_stop_and_grammar(server_url):
    lm = OpenAILM("smollm2", base_url=server_url, cache=False, prompt_format="completion")
    reply = lm(LMRequest(prompt="1, 2, 3, 4,", max_tokens=24, stop=(",",)))
    assert "," not in reply.text and reply.usage.completion_tokens > 0
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}},
              "required": ["answer"]}
    structured = lm(LMRequest(prompt="What is 2 + 2? Reply in JSON:", json_schema=schema,
                              max_tokens=24))
    assert isinstance(json.loads(structured.text)["answer"], int)
    grammar = lm(LMRequest(prompt="Is the sky blue? Answer:", grammar='root ::= " yes" | " no"',
                           max_tokens=8))
    assert grammar.text in (" yes", " no")


def test_llama_cpp_server_is_detected_and_its_chat_replies_follow_the_schema(server_url):
    lm = OpenAILM("smollm2", base_url=server_url, cache=False)
    assert lm.server_kind == "llamacpp"
    schema = {"type": "object", "properties": {"colour": {"enum": ["red", "green", "blue"]}},
              "required": ["colour"]}
    reply = lm(LMRequest(messages=({"role": "user", "content": "Name a colour."},),
                         json_schema=schema, max_tokens=16))
    assert json.loads(reply.text)["colour"] in ("red", "green", "blue")


def test_server_samples_with_the_request_seed(server_url):
    lm = OpenAILM("smollm2", base_url=server_url, cache=False, prompt_format="completion")

    def sample(seed: int) -> str:
        return lm(LMRequest(prompt="Once upon a time", temperature=1.5, max_tokens=12,
                            seed=seed)).text

    assert sample(7) == sample(7)
    assert len({sample(seed) for seed in (1, 2, 3)}) > 1


def test_server_refusing_json_schema_falls_back_to_plain_replies(server_url):
    # llama-cpp-python's server takes no OpenAI `json_schema` response format on chat.
    lm = OpenAILM("smollm2", base_url=server_url, cache=False, structured="json_schema")
    assert lm.capabilities.json_schema
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    reply = lm(LMRequest(messages=({"role": "user", "content": "Name a colour."},),
                         json_schema=schema, max_tokens=12))
    assert reply.text.strip()
    assert not lm.capabilities.json_schema
    assert lm.usage.snapshot().errors == 0
