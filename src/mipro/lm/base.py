"""The LM boundary: one request type, one response type, one protocol.

Every backend (``LocalLM``, ``OpenAILM``, the test LMs in ``mipro.testing``) subclasses
``BaseLM`` and implements ``_generate``, one attempt at a request. ``BaseLM.__call__`` adds what
every backend shares: the persistent cache, retries, the attempt gates that a budget uses
(``mipro.lm.attempts``) and usage accounting.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from mipro.errors import LMError
from mipro.lm.attempts import Attempt, admit
from mipro.lm.retry import RetryPolicy, call_with_retries
from mipro.lm.usage import TokenUsage, UsageTracker

logger = logging.getLogger(__name__)

PromptFormat = Literal["completion", "chat"]


@dataclass(frozen=True)
class LMRequest:
    """One call: a completion ``prompt`` or chat ``messages``, and sampling parameters.

    ``rollout`` names the sample: optimizers change it to ask for a fresh sample of an otherwise
    identical request, and it is part of the cache key. ``seed`` is the sampling seed the backend
    receives (servers get it as ``seed``); ``Predict`` derives it from the rollout unless the
    sampling context gives one. ``grammar`` (GBNF) and ``json_schema`` constrain the reply on
    backends that support it.
    """

    prompt: str | None = None
    messages: tuple[dict[str, str], ...] | None = None
    temperature: float = 0.0
    max_tokens: int = 256
    n: int = 1
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    json_schema: dict[str, Any] | None = None
    rollout: int | str = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("an LMRequest needs exactly one of `prompt` or `messages`")

    def cache_key(self, model_id: str) -> str:
        """A stable hash of everything that determines the reply."""
        payload = json.dumps({"model": model_id, **asdict(self)}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


def rollout_seed(rollout: int | str) -> int:
    """The sampling seed of a rollout that names no seed: 31 bits of a hash of the rollout."""
    digest = hashlib.sha256(f"rollout:{rollout}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFF_FFFF


@dataclass(frozen=True)
class LMResponse:
    """The completions of one request, with the tokens it used."""

    texts: tuple[str, ...]
    usage: TokenUsage = field(default_factory=TokenUsage)
    cached: bool = False

    @property
    def text(self) -> str:
        return self.texts[0]


@dataclass(frozen=True)
class LMCapabilities:
    """What a backend can do beyond plain generation."""

    grammar: bool = False
    json_schema: bool = False


@runtime_checkable
class LM(Protocol):
    """What mipro needs of a language model."""

    model_id: str
    prompt_format: PromptFormat
    usage: UsageTracker

    @property
    def capabilities(self) -> LMCapabilities: ...

    def __call__(self, request: LMRequest) -> LMResponse: ...


class BaseLM(ABC):
    """Shared machinery of every backend: cache lookups, retries, attempt gates, usage, timing.

    Subclasses set ``model_id`` and ``prompt_format`` and implement ``_generate``. A call that
    misses the cache is attempted, and retried after a retryable ``LMError`` as
    ``retry_policy`` allows; each attempt is first admitted by the attempt gates in effect.
    ``usage`` counts the calls, the requests sent, the retries and the calls that failed.
    """

    model_id: str = "unknown"
    prompt_format: PromptFormat = "chat"

    def __init__(self, *, cache: Any = None, retry_policy: RetryPolicy | None = None) -> None:
        self.cache = cache
        self.retry_policy = retry_policy or RetryPolicy(max_retries=0)
        self.usage = UsageTracker()

    @property
    def capabilities(self) -> LMCapabilities:
        return LMCapabilities()

    @property
    def identity(self) -> dict[str, str]:
        """What identifies this model in a run's fingerprint, free of secrets."""
        return {"backend": type(self).__name__, "model_id": self.model_id}

    def __call__(self, request: LMRequest) -> LMResponse:
        key = request.cache_key(self.model_id) if self.cache is not None else None
        if key is not None:
            cached = self.cache.get(key)
            if cached is not None:
                self.usage.record_cache_hit()
                return cached
        started = time.perf_counter()
        try:
            response = call_with_retries(
                lambda retry: self._attempt(request, retry), self.retry_policy,
                on_retry=lambda error: logger.info("%s: %s; trying again", self.model_id, error),
            )
        except LMError:
            self.usage.record_error()
            raise
        self.usage.record_call(response.usage, time.perf_counter() - started)
        if key is not None:
            self.cache.put(key, response)
        return response

    def _attempt(self, request: LMRequest, retry: int) -> LMResponse:
        self._admit(retry)
        return self._generate(request)

    def _admit(self, retry: int = 0) -> None:
        """Have the attempt gates admit one request to the model, and count it.

        ``BaseLM`` admits each attempt; a backend that sends more than one request in an
        attempt admits the further ones itself.
        """
        admit(Attempt(self.model_id, retry))
        self.usage.record_request()
        if retry:
            self.usage.record_retry()

    @abstractmethod
    def _generate(self, request: LMRequest) -> LMResponse:
        """One attempt at the request on the backend (no cache, no retry)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> BaseLM:
        # An LM holds a model or a client: programs that are copied share it.
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"
