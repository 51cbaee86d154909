"""Retrying LM calls that failed for a passing reason, with exponential backoff and jitter.

A server that says how long to wait (``Retry-After`` on a 429 or 503, carried by the error as
``retry_after``) is waited for exactly that long instead; one that asks for more than
``max_retry_after`` seconds is not retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from mipro.errors import ConfigurationError, LMError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: ``max_retries`` tries after the first, waiting
    ``backoff * 2**attempt`` seconds (at most ``max_backoff``), each wait jittered by up to half,
    or the server's ``Retry-After`` when it gives one (up to ``max_retry_after``)."""

    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 20.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if min(self.max_retries, self.backoff, self.max_backoff, self.max_retry_after) < 0:
            raise ConfigurationError(
                "a RetryPolicy needs max_retries, backoff, max_backoff and max_retry_after >= 0; "
                f"got {self}"
            )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (counted from 0)."""
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        return ceiling * (0.5 + 0.5 * rng.random())


def call_with_retries(
    call: Callable[[int], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[LMError], None],
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call(retry)`` (``retry`` is 0, then 1, 2, ...), tried again after each ``retryable``
    ``LMError`` while the policy allows.

    ``on_retry`` sees every error that is retried; the last error propagates, and so does any
    other exception (such as an attempt gate's refusal) at once.
    """
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return call(attempt)
        except LMError as error:
            if not error.retryable or attempt >= policy.max_retries:
                raise
            wait = error.retry_after
            if wait is not None and wait > policy.max_retry_after:
                raise
            on_retry(error)
            sleep(policy.delay(attempt, rng) if wait is None else wait)
            attempt += 1
