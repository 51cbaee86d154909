"""OpenAI-compatible servers (OpenAI, llama.cpp's servers, vLLM, Ollama, ...) through the
``openai`` client.

Chat requests go to ``/chat/completions``, prompts to ``/completions``. ``timeout`` bounds each
attempt as a whole, from sending the request to the last byte of the reply (a server that
trickles its reply is cut off). Passing failures (429, 5xx, timeouts, refused connections,
malformed replies) are retried with backoff, or after the server's ``Retry-After``; every
failure becomes an ``LMError``. Structured outputs take the form of the server's kind
(``mipro.lm.structured``), detected from the server or named by ``structured``.

Secrets stay inside the HTTP client. The model id, the repr, ``identity``, error messages and
log lines show the URL through ``redact_url``; a key in the URL's user-info
(``http://user:key@host/v1``) is sent as HTTP basic auth, as before, but is no part of the URL
the HTTP client uses (and logs).
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from mipro.errors import (
    ConfigurationError,
    LMError,
    LMTimeoutError,
    LMUnavailableError,
    excerpt,
)
from mipro.lm.base import BaseLM, LMCapabilities, LMRequest, LMResponse, PromptFormat, TokenUsage
from mipro.lm.cache import LMCache, resolve_cache
from mipro.lm.redact import Redactor, redact_url, url_secrets
from mipro.lm.retry import RetryPolicy, call_with_retries
from mipro.lm.server_replies import error_message, read_completions, status_error
from mipro.lm.structured import (
    SERVER_KINDS,
    Endpoint,
    ServerKind,
    capabilities,
    detect_kind,
    request_fields,
)

if TYPE_CHECKING:
    import openai

logger = logging.getLogger(__name__)

_REFUSAL_HINTS = ("response_format", "json_schema", "json_object", "grammar",
                  "structured_outputs", "unsupported", "not supported")


class _StructuredOutputsRefused(Exception):
    """The server rejected the structured-output part of a request."""


class OpenAILM(BaseLM):
    """A model behind an OpenAI-compatible HTTP API.

    ``timeout`` (seconds) bounds each attempt as a whole; ``max_retries`` and ``backoff``
    (seconds, doubled per retry, jittered) govern retries. ``structured`` names how the server
    takes a reply's schema or grammar: ``"auto"`` (detected from the server's ``/models`` on
    first use, then kept for the run), ``"json_schema"`` (OpenAI), ``"llamacpp"``, ``"vllm"``,
    ``"ollama"`` or ``"none"``. A server that refuses structured outputs on an endpoint is
    remembered and asked again without them; ``capabilities`` then turn False.
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
        structured: Literal["auto"] | ServerKind = "auto",
    ) -> None:
        import openai

        if timeout <= 0:
            raise ConfigurationError(f"timeout must be > 0 seconds, got {timeout}")
        if prompt_format not in ("completion", "chat"):
            raise ConfigurationError(
                f"prompt_format must be 'completion' or 'chat', got {prompt_format!r}"
            )
        if structured not in ("auto", *SERVER_KINDS):
            raise ConfigurationError(
                f"structured must be one of {['auto', *SERVER_KINDS]}, got {structured!r}"
            )
        super().__init__(
            cache=resolve_cache(cache),
            retry_policy=RetryPolicy(max_retries=max_retries, backoff=backoff),
        )
        url = base_url if base_url is not None else os.environ.get("OPENAI_BASE_URL")
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self._redact = Redactor([key, *url_secrets(url or "")])
        url, basic_auth = _split_credentials(url)
        self._client = openai.OpenAI(
            api_key=key or "not-needed", base_url=url, timeout=timeout, max_retries=0,
            default_headers={"Authorization": basic_auth} if basic_auth else None,
        )
        self.model = model
        self.base_url = redact_url((url or str(self._client.base_url)).rstrip("/"))
        self.timeout = timeout
        self.prompt_format = prompt_format
        self.structured = structured
        self.model_id = f"openai:{self.base_url}:{model}"
        self._kind: ServerKind | None = None if structured == "auto" else structured
        self._refused: set[str] = set()
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> LMCapabilities:
        endpoint: Endpoint = "chat" if self.prompt_format == "chat" else "completions"
        return self._capabilities(self.server_kind, endpoint)

    @property
    def server_kind(self) -> ServerKind:
        """How this server takes structured outputs: named by ``structured``, or detected on
        first use and kept for the run (an unreachable server is asked again as the retry
        policy allows)."""
        return call_with_retries(
            lambda _: self._detected_kind(), self.retry_policy,
            on_retry=lambda error: logger.info("%s; trying again", error),
        )

    @property
    def identity(self) -> dict[str, str]:
        return {"backend": "openai", "base_url": self.base_url, "model": self.model,
                "prompt_format": self.prompt_format, "structured": self.structured}

    def _detected_kind(self) -> ServerKind:
        with self._lock:
            if self._kind is None:
                self._kind = detect_kind(self.base_url, self._model_listing())
                logger.info("%s takes structured outputs as %r", self.base_url, self._kind)
            return self._kind

    def _capabilities(self, kind: ServerKind, endpoint: Endpoint) -> LMCapabilities:
        with self._lock:
            if endpoint in self._refused:
                return LMCapabilities()
        return capabilities(kind, endpoint)

    def _generate(self, request: LMRequest) -> LMResponse:
        endpoint: Endpoint = "chat" if request.messages is not None else "completions"
        structured: dict[str, Any] = {}
        if request.grammar is not None or request.json_schema is not None:
            kind = self._detected_kind()  # this attempt is retried as a whole
            if self._capabilities(kind, endpoint).json_schema:
                structured = request_fields(kind, endpoint, request)
        try:
            return self._sample(request, endpoint, structured)
        except _StructuredOutputsRefused as refusal:
            self._remember_refusal(endpoint, str(refusal))
            self._admit()  # asking again is one more request to the server
            return self._sample(request, endpoint, {})

    def _sample(self, request: LMRequest, endpoint: Endpoint,
                structured: dict[str, Any]) -> LMResponse:
        texts: list[str] = []
        prompt_tokens = completion_tokens = 0
        # Some servers (llama-cpp-python's) ignore ``n`` and answer one choice: ask again.
        while len(texts) < request.n:
            if texts:
                self._admit()
            batch, usage = self._post(request, endpoint, structured, done=len(texts))
            texts += batch
            prompt_tokens += usage.prompt_tokens
            completion_tokens += usage.completion_tokens
        return LMResponse(tuple(texts[: request.n]), TokenUsage(prompt_tokens, completion_tokens))

    def _post(self, request: LMRequest, endpoint: Endpoint, structured: dict[str, Any], *,
              done: int) -> tuple[list[str], TokenUsage]:
        import openai

        body = {**request_body(request, self.model, done=done), **structured}
        try:
            content, content_type = self._exchange(endpoint, body)
        except openai.APIStatusError as error:
            message = self._redact(error_message(error.body))
            if structured and _is_refusal(error.status_code, message):
                raise _StructuredOutputsRefused(message) from None
            raise status_error(
                error.status_code, message, error.response.headers, self.base_url
            ) from None
        except openai.APITimeoutError:
            raise self._timeout_error() from None
        except openai.APIConnectionError as error:
            raise LMUnavailableError(
                f"nothing answers at {self.base_url} ({self._redact(str(error))}); start the "
                "server or fix base_url"
            ) from None
        except openai.OpenAIError as error:
            raise LMError(
                f"{self.base_url}: {type(error).__name__}: {excerpt(self._redact(str(error)))}"
            ) from None
        return read_completions(content, content_type, endpoint, self.base_url)

    def _exchange(self, endpoint: Endpoint, body: dict[str, Any]) -> tuple[bytes, str]:
        """Send ``body`` and read the whole reply within ``timeout``: its body and content type.

        The exchange runs in a thread of its own so that the wait is bounded as a whole; a
        thread left behind by a timeout stops at the server's next byte or at its read timeout.
        """
        future: Future[tuple[bytes, str]] = Future()
        abandoned = threading.Event()

        def exchange() -> None:
            try:
                future.set_result(self._send_and_read(endpoint, body, abandoned))
            except BaseException as error:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(error)

        threading.Thread(target=exchange, name="mipro-openai-exchange", daemon=True).start()
        if not wait_for([future], timeout=self.timeout).done:
            abandoned.set()
            raise self._timeout_error()
        return future.result()

    def _send_and_read(self, endpoint: Endpoint, body: dict[str, Any],
                       abandoned: threading.Event) -> tuple[bytes, str]:
        fields = dict(body)
        model = fields.pop("model")
        if endpoint == "chat":
            create: Any = self._client.chat.completions.with_streaming_response.create
            context = create(model=model, messages=fields.pop("messages"), extra_body=fields)
        else:
            create = self._client.completions.with_streaming_response.create
            context = create(model=model, prompt=fields.pop("prompt"), extra_body=fields)
        with context as response:
            chunks = []
            try:
                for chunk in response.iter_bytes():
                    if abandoned.is_set():
                        break
                    chunks.append(chunk)
            except Exception as error:  # noqa: BLE001 - the HTTP library's own errors
                raise LMUnavailableError(
                    f"{self.base_url} broke off its reply ({type(error).__name__}: "
                    f"{excerpt(self._redact(str(error)))})"
                ) from None
            return b"".join(chunks), response.headers.get("content-type", "")

    def _model_listing(self) -> dict[str, Any] | None:
        """The server's ``/models`` listing, or None if it has none (``LMUnavailableError`` if
        the server cannot be reached)."""
        import openai

        try:
            page = self._client.models.list()
        except openai.APIStatusError as error:
            if error.status_code in (429, 502, 503, 504):
                message = self._redact(error_message(error.body))
                raise status_error(error.status_code, message, error.response.headers,
                                   self.base_url) from None
            return None
        except (openai.APIConnectionError, openai.APITimeoutError) as error:
            raise LMUnavailableError(
                f"nothing answers at {self.base_url} ({type(error).__name__}); start the "
                "server or fix base_url"
            ) from None
        except (openai.OpenAIError, ValueError, TypeError):
            return None
        return {"data": [{"owned_by": getattr(entry, "owned_by", None)} for entry in page.data]}

    def _remember_refusal(self, endpoint: Endpoint, reason: str) -> None:
        with self._lock:
            first = endpoint not in self._refused
            self._refused.add(endpoint)
        if first:
            logger.warning(
                "%s refused structured outputs on /%s (%s); sending requests without them from "
                "now on, and replies are parsed from free text", self.base_url,
                "chat/completions" if endpoint == "chat" else "completions", excerpt(reason, 300),
            )

    def _timeout_error(self) -> LMTimeoutError:
        return LMTimeoutError(
            f"{self.base_url} did not answer within timeout={self.timeout} s; raise the timeout "
            "or check the server's load"
        )


def request_body(request: LMRequest, model: str, *, done: int = 0) -> dict[str, Any]:
    """The JSON body of a request, for the ``done``-th sample onwards (no structured outputs).

    ``max_tokens`` is sent rather than ``max_completion_tokens``, which llama.cpp's and other
    servers ignore; ``seed`` is the request's seed (plus ``done``).
    """
    body: dict[str, Any] = {
        "model": model, "max_tokens": request.max_tokens, "temperature": request.temperature,
    }
    if request.messages is not None:
        body["messages"] = [dict(message) for message in request.messages]
    else:
        body["prompt"] = request.prompt or ""
    if request.n - done > 1:
        body["n"] = request.n - done
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed + done
    return body


def _split_credentials(url: str | None) -> tuple[str | None, str | None]:
    """``url`` without its user-info, and that user-info as a basic ``Authorization`` value."""
    if not url:
        return url, None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    credentials = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return bare, "Basic " + base64.b64encode(credentials.encode()).decode()


def _is_refusal(status: int, message: str) -> bool:
    # llama-cpp-python's server answers an unknown response format with HTTP 500.
    lowered = message.lower()
    return status in (400, 422, 500) and any(hint in lowered for hint in _REFUSAL_HINTS)
