"""Retrying LM calls that failed for a passing reason, with exponential backoff and jitter."""

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
    ``backoff * 2**attempt`` seconds (at most ``max_backoff``), each wait jittered by up to half."""

    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 20.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff < 0 or self.max_backoff < 0:
            raise ConfigurationError(
                f"a RetryPolicy needs max_retries, backoff and max_backoff >= 0; got {self}"
            )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (counted from 0)."""
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        return ceiling * (0.5 + 0.5 * rng.random())


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[LMError], None],
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``, tried again after each ``retryable`` ``LMError`` while the policy allows.

    ``on_retry`` sees every error that is retried; the last error propagates.
    """
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            return call()
        except LMError as error:
            if not error.retryable or attempt >= policy.max_retries:
                raise
            on_retry(error)
            sleep(policy.delay(attempt, rng))
            attempt += 1
