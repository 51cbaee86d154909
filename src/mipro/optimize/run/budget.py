"""A run's cap on LM calls, shared by every LM the run uses and by every process of the run.

The count is a row of the run's database (``storage.BUDGETS``), so it spans resumed runs and
every worker of a run: ``max_lm_calls`` caps the run, not one ``compile`` call. Each request
sent to a model, retries included, takes one unit atomically before it is sent.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from mipro.errors import BudgetExhausted
from mipro.lm.attempts import Attempt, gate_attempts
from mipro.lm.base import LM, BaseLM, LMCapabilities, LMRequest, LMResponse
from mipro.lm.usage import UsageTracker
from mipro.optimize.run.storage import BUDGETS


class CallBudget:
    """Counts the real LM calls of the run ``run`` in its database against ``max_calls``
    (``None``: no cap); safe across threads, processes and machines."""

    def __init__(self, engine: sqlalchemy.engine.Engine, run: str, max_calls: int | None) -> None:
        self.engine, self.run, self.max_calls = engine, run, max_calls
        try:
            with engine.begin() as connection:
                connection.execute(insert(BUDGETS).values(run=run, used=0, max_calls=max_calls))
        except IntegrityError:  # the run was started before: keep its count, take this cap
            with engine.begin() as connection:
                connection.execute(update(BUDGETS).where(BUDGETS.c.run == run)
                                   .values(max_calls=max_calls))

    @property
    def used(self) -> int:
        """Real calls counted so far by every process of the run, resumed runs included."""
        with self.engine.connect() as connection:
            return int(connection.execute(
                select(BUDGETS.c.used).where(BUDGETS.c.run == self.run)).scalar_one())

    @property
    def remaining(self) -> int | None:
        """Calls left to every process of the run (``None``: no cap)."""
        return None if self.max_calls is None else max(0, self.max_calls - self.used)

    def reserve(self) -> None:
        """Take one call from the budget, or raise ``BudgetExhausted``."""
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(BUDGETS)
                .where((BUDGETS.c.run == self.run)
                       & or_(BUDGETS.c.max_calls.is_(None), BUDGETS.c.used < BUDGETS.c.max_calls))
                .values(used=BUDGETS.c.used + 1)
            ).rowcount
        if not taken:
            raise BudgetExhausted(f"the budget of {self.max_calls} LM calls is spent (by run "
                                  f"{self.run!r}, over all its processes and resumptions)")

    def release(self) -> None:
        """Give back a reservation that turned out to be a cache hit."""
        with self.engine.begin() as connection:
            connection.execute(update(BUDGETS).where(BUDGETS.c.run == self.run)
                               .values(used=BUDGETS.c.used - 1))


class BudgetedLM:
    """Wraps an LM so that every request it sends first takes a unit of a shared ``CallBudget``.

    A ``BaseLM`` asks the attempt gate (``mipro.lm.attempts``) before each request, retries
    included, so each one is paid for before it is sent and cache hits are free. An LM of the
    bare ``LM`` protocol pays one unit per call, given back when the reply came from a cache.
    ``usage`` counts only what goes through this wrapper (or the wrappers that share it,
    ``usage=``), so an optimizer can report task-LM and prompt-LM usage apart even when both
    are the same model.
    """

    def __init__(self, lm: LM, budget: CallBudget, *, usage: UsageTracker | None = None) -> None:
        self.inner = lm
        self.budget = budget
        self.model_id = lm.model_id
        self.prompt_format = lm.prompt_format
        self.usage = usage if usage is not None else UsageTracker()

    @property
    def capabilities(self) -> LMCapabilities:
        return self.inner.capabilities

    def __call__(self, request: LMRequest) -> LMResponse:
        started = time.perf_counter()
        try:
            response = self._send(request)
        except BudgetExhausted:
            raise
        except Exception:
            self.usage.record_error()  # a failed request still counts against the budget
            raise
        if response.cached:
            self.usage.record_cache_hit()
        else:
            self.usage.record_call(response.usage, time.perf_counter() - started)
        return response

    def _send(self, request: LMRequest) -> LMResponse:
        if isinstance(self.inner, BaseLM):
            with gate_attempts(self._admit):
                return self.inner(request)
        self._admit(Attempt(self.model_id))
        response = self.inner(request)
        if response.cached:
            self.budget.release()
        return response

    def _admit(self, attempt: Attempt) -> None:
        """Pay for one request before it is sent (``BudgetExhausted`` refuses it)."""
        self.budget.reserve()
        self.usage.record_request()
        if attempt.is_retry:
            self.usage.record_retry()

    def __deepcopy__(self, memo: dict[int, Any]) -> BudgetedLM:
        return self
