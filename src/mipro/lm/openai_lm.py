"""OpenAI-compatible servers (OpenAI, llama.cpp's servers, vLLM, ...) through the ``openai`` client.

Chat requests go to ``/chat/completions``, prompts to ``/completions``. Passing failures (429,
5xx, timeouts, refused connections) are retried with backoff; every failure that is not retried
becomes an ``LMError``. The API key stays inside the HTTP client: it is not part of the model id,
the repr, the cache or any log line.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import TYPE_CHECKING, Any

from mipro.errors import (
    ConfigurationError,
    ContextWindowError,
    LMError,
    LMTimeoutError,
    LMUnavailableError,
    RateLimitError,
)
from mipro.lm.base import BaseLM, LMCapabilities, LMRequest, LMResponse, PromptFormat, TokenUsage
from mipro.lm.cache import LMCache, resolve_cache
from mipro.lm.retry import RetryPolicy, call_with_retries

if TYPE_CHECKING:
    import openai

logger = logging.getLogger(__name__)

_REFUSAL_HINTS = ("response_format", "json_schema", "grammar", "unsupported", "not supported")
_CONTEXT_HINTS = ("context length", "context window", "context_length", "context size")


class _StructuredOutputsRefused(Exception):
    """The server rejected the structured-output part of a request."""


class OpenAILM(BaseLM):
    """A model behind an OpenAI-compatible HTTP API.

    ``timeout`` bounds each attempt; ``max_retries`` and ``backoff`` (seconds, doubled per retry,
    jittered) govern retries. With ``structured_outputs``, a request's ``json_schema`` is sent
    as ``response_format`` (chat) or as a grammar (completions); a server that refuses it is
    remembered and asked again without, and ``capabilities.json_schema`` turns False.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        prompt_format: PromptFormat = "chat",
        cache: LMCache | bool | None = True,
        structured_outputs: bool = True,
    ) -> None:
        import openai

        if timeout <= 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {timeout}")
        if prompt_format not in ("completion", "chat"):
            raise ConfigurationError(
                f"prompt_format must be 'completion' or 'chat', got {prompt_format!r}"
            )
        self.retry_policy = RetryPolicy(max_retries=max_retries, backoff=backoff)
        super().__init__(cache=resolve_cache(cache))
        self._client = openai.OpenAI(
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "not-needed",
            base_url=base_url, timeout=timeout, max_retries=0,
        )
        self.model = model
        self.base_url = str(self._client.base_url).rstrip("/")
        self.timeout = timeout
        self.prompt_format = prompt_format
        self.structured_outputs = structured_outputs
        self.model_id = f"openai:{self.base_url}:{model}"
        self._refused: set[str] = set()
        self._refused_lock = threading.Lock()

    @property
    def capabilities(self) -> LMCapabilities:
        endpoint = "chat" if self.prompt_format == "chat" else "completions"
        return LMCapabilities(grammar=False, json_schema=self._accepts_structured(endpoint))

    def _generate(self, request: LMRequest) -> LMResponse:
        endpoint = "chat" if request.messages is not None else "completions"
        structured = request.json_schema is not None and self._accepts_structured(endpoint)
        try:
            return self._send(request, endpoint, structured=structured)
        except _StructuredOutputsRefused as refusal:
            self._remember_refusal(endpoint, str(refusal))
            return self._send(request, endpoint, structured=False)

    def _send(self, request: LMRequest, endpoint: str, *, structured: bool) -> LMResponse:
        texts: list[str] = []
        prompt_tokens = completion_tokens = 0
        # Some servers (llama-cpp-python's) ignore ``n`` and answer one choice: ask again.
        while len(texts) < request.n:
            batch, usage = call_with_retries(
                lambda: self._post(request, endpoint, structured=structured, done=len(texts)),
                self.retry_policy, on_retry=lambda _: self.usage.record_retry(),
            )
            if not batch:
                raise LMError(f"{self.base_url} answered with no choices for model {self.model}")
            texts += batch
            prompt_tokens += usage.prompt_tokens
            completion_tokens += usage.completion_tokens
        return LMResponse(tuple(texts[: request.n]), TokenUsage(prompt_tokens, completion_tokens))

    def _post(self, request: LMRequest, endpoint: str, *, structured: bool,
              done: int) -> tuple[list[str], TokenUsage]:
        import openai

        arguments = _arguments(request, self.model, remaining=request.n - done)
        if request.seed is not None:
            arguments["seed"] = request.seed + done
        try:
            if endpoint == "chat":
                if structured:
                    arguments["response_format"] = _response_format(request.json_schema)
                reply: Any = self._client.chat.completions.create(
                    messages=list(request.messages or ()), **arguments
                )
                texts = [choice.message.content or "" for choice in reply.choices]
            else:
                if structured:
                    arguments["extra_body"] = {"grammar": _schema_grammar(request.json_schema)}
                reply = self._client.completions.create(prompt=request.prompt or "", **arguments)
                texts = [choice.text or "" for choice in reply.choices]
        except openai.APIStatusError as error:
            if structured and _is_refusal(error):
                raise _StructuredOutputsRefused(_error_message(error)) from None
            raise _lm_error(error, self.base_url, self.timeout) from None
        except openai.OpenAIError as error:
            raise _lm_error(error, self.base_url, self.timeout) from None
        usage = reply.usage
        if usage is None:
            return texts, TokenUsage()
        return texts, TokenUsage(usage.prompt_tokens or 0, usage.completion_tokens or 0)

    def _accepts_structured(self, endpoint: str) -> bool:
        with self._refused_lock:
            return self.structured_outputs and endpoint not in self._refused

    def _remember_refusal(self, endpoint: str, reason: str) -> None:
        with self._refused_lock:
            first = endpoint not in self._refused
            self._refused.add(endpoint)
        if first:
            logger.warning(
                "%s refused structured outputs on /%s (%s); sending requests without them from "
                "now on, and replies are parsed from free text", self.base_url,
                "chat/completions" if endpoint == "chat" else "completions", reason[:300],
            )


def _arguments(request: LMRequest, model: str, *, remaining: int) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "model": model, "max_tokens": request.max_tokens, "temperature": request.temperature,
    }
    if remaining > 1:
        arguments["n"] = remaining
    if request.stop:
        arguments["stop"] = list(request.stop)
    return arguments


def _response_format(schema: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "json_schema",
            "json_schema": {"name": "reply", "schema": schema, "strict": True}}


def _schema_grammar(schema: dict[str, Any] | None) -> str:
    """GBNF for a schema: the structured-output form llama.cpp's servers take on completions."""
    import json

    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(json.dumps(schema))


def _is_refusal(error: openai.APIStatusError) -> bool:
    # llama-cpp-python's server answers an unknown response format with HTTP 500.
    message = _error_message(error).lower()
    return error.status_code in (400, 422, 500) and any(hint in message for hint in _REFUSAL_HINTS)


def _error_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        return str(body)
    return str(body) if body is not None else error.message


def _lm_error(error: openai.OpenAIError, base_url: str, timeout: float) -> LMError:
    """The ``LMError`` for a failure of the ``openai`` client."""
    import openai

    if isinstance(error, openai.APITimeoutError):
        return LMTimeoutError(
            f"{base_url} did not answer within timeout={timeout} s; raise the timeout or "
            "check the server's load"
        )
    if isinstance(error, openai.APIConnectionError):
        return LMUnavailableError(
            f"nothing answers at {base_url} ({error}); start the server or fix base_url"
        )
    if not isinstance(error, openai.APIStatusError):
        return LMError(f"{base_url}: {type(error).__name__}: {error}")
    status, message = error.status_code, _error_message(error)
    if status == 429:
        return RateLimitError(f"{base_url} is rate limiting requests (HTTP 429): {message}")
    if status == 408:
        return LMTimeoutError(f"{base_url} timed out the request (HTTP 408): {message}")
    if status >= 500:
        return LMUnavailableError(f"{base_url} failed with HTTP {status}: {message}")
    if any(hint in message.lower() for hint in _CONTEXT_HINTS):
        return _context_window_error(message, error.body, base_url)
    return LMError(
        f"{base_url} rejected the request with HTTP {status}: {message}; check the model name "
        "and the request's parameters"
    )


def _context_window_error(message: str, body: object, base_url: str) -> ContextWindowError:
    fields = body.get("error", body) if isinstance(body, dict) else {}
    fields = fields if isinstance(fields, dict) else {}
    window = _first_number(message, r"maximum context length is (\d+)", r"context window of (\d+)")
    prompt = _first_number(
        message, r"(\d+) in (?:the messages|your prompt)", r"resulted in (\d+) tokens",
    )
    window = window or int(fields.get("n_ctx") or 0)
    prompt = prompt or int(fields.get("n_prompt_tokens") or 0)
    return ContextWindowError(
        f"the prompt does not fit the context window of the model at {base_url}: {message}",
        prompt_tokens=prompt, context_window=window,
    )


def _first_number(text: str, *patterns: str) -> int:
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            return int(match.group(1))
    return 0
