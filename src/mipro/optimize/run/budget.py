"""A hard cap on LM calls shared by every LM an optimizer run uses."""

from __future__ import annotations

import threading
import time
from typing import Any

from mipro.errors import BudgetExhausted
from mipro.lm.base import LM, LMCapabilities, LMRequest, LMResponse
from mipro.lm.usage import UsageTracker


class CallBudget:
    """Counts real (non-cached) LM calls against an optional maximum; thread-safe."""

    def __init__(self, max_calls: int | None) -> None:
        self.max_calls = max_calls
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    def reserve(self) -> None:
        with self._lock:
            if self.max_calls is not None and self._used >= self.max_calls:
                raise BudgetExhausted(f"the budget of {self.max_calls} LM calls is spent")
            self._used += 1

    def release(self) -> None:
        """Give back a reservation that turned out to be a cache hit."""
        with self._lock:
            self._used -= 1


class BudgetedLM:
    """Wraps an LM so that each real call first reserves a unit of a shared ``CallBudget``.

    Its ``usage`` counts only the calls made through this wrapper, so an optimizer can report
    task-LM and prompt-LM usage apart even when both are the same model.
    """

    def __init__(self, lm: LM, budget: CallBudget) -> None:
        self.inner = lm
        self.budget = budget
        self.model_id = lm.model_id
        self.prompt_format = lm.prompt_format
        self.usage = UsageTracker()

    @property
    def capabilities(self) -> LMCapabilities:
        return self.inner.capabilities

    def __call__(self, request: LMRequest) -> LMResponse:
        self.budget.reserve()
        started = time.perf_counter()
        try:
            response = self.inner(request)
        except BaseException:
            self.usage.record_error()  # a failed call still counts against the budget
            raise
        if response.cached:
            self.budget.release()
            self.usage.record_cache_hit()
        else:
            self.usage.record_call(response.usage, time.perf_counter() - started)
        return response

    def __deepcopy__(self, memo: dict[int, Any]) -> BudgetedLM:
        return self

