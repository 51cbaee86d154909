"""A scripted LM for unit tests: replies come from a list or a function of the request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from mipro.lm.base import BaseLM, LMCapabilities, LMRequest, LMResponse, PromptFormat, TokenUsage

Reply = str | Callable[[LMRequest], str]


class ScriptedLM(BaseLM):
    """Answers with the next scripted reply, or with ``reply(request)`` when given a function.

    Every request it receives is kept in ``requests``. For unit tests of logic only.
    """

    def __init__(
        self,
        replies: Iterable[str] | Callable[[LMRequest], str],
        *,
        prompt_format: PromptFormat = "completion",
        capabilities: LMCapabilities | None = None,
        model_id: str = "scripted",
        cache: object = None,
    ) -> None:
        super().__init__(cache=cache)
        self.model_id = model_id
        self.prompt_format = prompt_format
        self._capabilities = capabilities or LMCapabilities()
        self._function = replies if callable(replies) else None
        self._replies = [] if callable(replies) else list(replies)
        self._lock = threading.Lock()
        self.requests: list[LMRequest] = []

    @property
    def capabilities(self) -> LMCapabilities:
        return self._capabilities

    def _generate(self, request: LMRequest) -> LMResponse:
        with self._lock:
            self.requests.append(request)
            if self._function is not None:
                text = self._function(request)
            elif self._replies:
                text = self._replies.pop(0)
            else:
                raise AssertionError("ScriptedLM ran out of scripted replies")
        prompt = request.prompt or " ".join(m["content"] for m in request.messages or ())
        usage = TokenUsage(len(prompt.split()), len(text.split()))
        return LMResponse(tuple(text for _ in range(request.n)), usage)
