"""The LM boundary: one request type, one response type, one protocol.

Every backend (``LocalLM``, ``OpenAILM``, the test LMs in ``mipro.testing``) subclasses
``BaseLM`` and implements ``_generate``. ``BaseLM.__call__`` adds what every backend shares:
the persistent cache, usage accounting and the context-window check.
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from mipro.lm.usage import TokenUsage, UsageTracker

PromptFormat = Literal["completion", "chat"]


@dataclass(frozen=True)
class LMRequest:
    """One call: a completion ``prompt`` or chat ``messages``, and sampling parameters.

    ``rollout`` is a salt that is part of the cache key: optimizers change it to ask for a fresh
    sample of an otherwise identical request. ``grammar`` (GBNF) and ``json_schema`` constrain
    the reply on backends that support it.
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
    """Shared machinery of every backend: cache lookups, usage accounting, timing.

    Subclasses set ``model_id`` and ``prompt_format`` and implement ``_generate``.
    """

    model_id: str = "unknown"
    prompt_format: PromptFormat = "chat"

    def __init__(self, *, cache: Any = None) -> None:
        self.cache = cache
        self.usage = UsageTracker()

    @property
    def capabilities(self) -> LMCapabilities:
        return LMCapabilities()

    def __call__(self, request: LMRequest) -> LMResponse:
        key = request.cache_key(self.model_id) if self.cache is not None else None
        if key is not None:
            cached = self.cache.get(key)
            if cached is not None:
                self.usage.record_cache_hit()
                return cached
        started = time.perf_counter()
        try:
            response = self._generate(request)
        except Exception:
            self.usage.record_error()
            raise
        self.usage.record_call(response.usage, time.perf_counter() - started)
        if key is not None:
            self.cache.put(key, response)
        return response

    @abstractmethod
    def _generate(self, request: LMRequest) -> LMResponse:
        """Run the request on the backend (no cache)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> BaseLM:
        # An LM holds a model or a client: programs that are copied share it.
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"
