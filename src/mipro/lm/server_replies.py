"""Reading what an OpenAI-compatible server answers: the completions of a 200 reply, and an
``LMError`` for everything else.

A body that is not a completion (not JSON, an HTML page from a proxy, JSON without ``choices``)
is a ``MalformedReplyError``, retried like a 5xx. ``Retry-After`` (seconds or an HTTP date) on a
429 or 503 becomes the error's ``retry_after``. Messages quote the server through ``excerpt``,
so a huge body never becomes a huge message.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from mipro.errors import (
    ContextWindowError,
    LMError,
    LMTimeoutError,
    LMUnavailableError,
    MalformedReplyError,
    RateLimitError,
    excerpt,
)
from mipro.lm.usage import TokenUsage

_CONTEXT_HINTS = ("context length", "context window", "context_length", "context size")


def read_completions(
    body: bytes, content_type: str, endpoint: str, where: str
) -> tuple[list[str], TokenUsage]:
    """The texts and token usage of a 200 reply from ``where``; ``MalformedReplyError`` if the
    body is not an OpenAI completion of ``endpoint`` ("chat" or "completions")."""
    text = body.decode("utf-8", errors="replace")
    if "html" in content_type.lower() or text.lstrip()[:1] == "<":
        raise MalformedReplyError(
            f"{where} answered with an HTML page instead of a completion: {excerpt(text)!r}; "
            "check that the URL is the API's (it usually ends in /v1)"
        )
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        raise MalformedReplyError(
            f"{where} answered with a body that is not JSON: {excerpt(text)!r}"
        ) from None
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not choices:
        raise MalformedReplyError(
            f"{where} answered with JSON that has no choices: {excerpt(text)!r}"
        )
    texts = [_choice_text(choice, endpoint, where, text) for choice in choices]
    return texts, _usage(payload.get("usage"))


def _choice_text(choice: Any, endpoint: str, where: str, body: str) -> str:
    if isinstance(choice, dict):
        if endpoint == "chat":
            message = choice.get("message")
            content = message.get("content") if isinstance(message, dict) else False
            if content is None:
                return ""  # a message without content: a refusal or a tool call
        else:
            content = choice.get("text")
        if isinstance(content, str):
            return content
    raise MalformedReplyError(
        f"{where} answered with a choice that holds no text: {excerpt(body)!r}"
    )


def _usage(usage: Any) -> TokenUsage:
    if not isinstance(usage, dict):
        return TokenUsage()
    return TokenUsage(_count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")))


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def status_error(
    status: int, body: object, headers: Mapping[str, str], where: str
) -> LMError:
    """The ``LMError`` of an HTTP error ``status`` from ``where``."""
    message = excerpt(error_message(body))
    retry_after = retry_after_seconds(headers.get("retry-after"))
    if status == 429:
        return RateLimitError(
            f"{where} is rate limiting requests (HTTP 429){_asked_wait(retry_after)}: {message}",
            retry_after=retry_after,
        )
    if status == 408:
        return LMTimeoutError(f"{where} timed out the request (HTTP 408): {message}")
    if status >= 500:
        return LMUnavailableError(
            f"{where} failed with HTTP {status}{_asked_wait(retry_after)}: {message}",
            retry_after=retry_after if status == 503 else None,
        )
    if any(hint in message.lower() for hint in _CONTEXT_HINTS):
        return _context_window_error(message, body, where)
    return LMError(
        f"{where} rejected the request with HTTP {status}: {message}; check the model name "
        "and the request's parameters"
    )


def error_message(body: object) -> str:
    """The message of an error body: OpenAI's ``{"error": {"message": ...}}`` or the text."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        return json.dumps(body)
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return "" if body is None else str(body)


def retry_after_seconds(value: str | None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (it may be an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _asked_wait(retry_after: float | None) -> str:
    return "" if retry_after is None else f", asking to retry after {retry_after:.0f} s"


def _context_window_error(message: str, body: object, where: str) -> ContextWindowError:
    fields = body.get("error", body) if isinstance(body, dict) else {}
    fields = fields if isinstance(fields, dict) else {}
    window = _first_number(message, r"maximum context length is (\d+)", r"context window of (\d+)")
    prompt = _first_number(
        message, r"(\d+) in (?:the messages|your prompt)", r"resulted in (\d+) tokens",
    )
    window = window or int(fields.get("n_ctx") or 0)
    prompt = prompt or int(fields.get("n_prompt_tokens") or 0)
    return ContextWindowError(
        f"the prompt does not fit the context window of the model at {where}: {message}",
        prompt_tokens=prompt, context_window=window,
    )


def _first_number(text: str, *patterns: str) -> int:
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            return int(match.group(1))
    return 0
