"""Backoff and the retry loop."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from mipro import ConfigurationError, LMError, RateLimitError
from mipro.lm.retry import RetryPolicy, call_with_retries


def test_delay_doubles_within_jitter_and_is_capped():
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    rng = random.Random(0)
    for attempt, ceiling in enumerate([1.0, 2.0, 4.0, 5.0, 5.0]):
        assert ceiling / 2 <= policy.delay(attempt, rng) <= ceiling


def test_retryable_errors_are_retried_until_success():
    outcomes: list[Exception | str] = [RateLimitError("429"), RateLimitError("429"), "ok"]
    seen: list[LMError] = []
    waits: list[float] = []

    def call(retry: int) -> str:
        assert retry == 2 - len(outcomes) + 1
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result = call_with_retries(call, RetryPolicy(max_retries=4), on_retry=seen.append,
                               sleep=waits.append)
    assert result == "ok" and len(seen) == 2 and len(waits) == 2


def test_stops_after_max_retries_and_on_errors_that_are_not_retryable():
    def rate_limited(_: int) -> None:
        raise RateLimitError("429")

    seen: list[LMError] = []
    with pytest.raises(RateLimitError):
        call_with_retries(rate_limited, RetryPolicy(max_retries=3), on_retry=seen.append,
                          sleep=lambda _: None)
    assert len(seen) == 3

    def rejected(_: int) -> None:
        raise LMError("400")

    with pytest.raises(LMError, match="400"):
        call_with_retries(rejected, RetryPolicy(), on_retry=seen.append, sleep=lambda _: None)
    assert len(seen) == 3


def test_negative_settings_are_refused():
    with pytest.raises(ConfigurationError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_a_server_asked_wait_replaces_the_backoff_up_to_a_limit():
    waits: list[float] = []

    def asks_for(seconds: float) -> Callable[[int], str]:
        def call(retry: int) -> str:
            if retry == 0:
                raise RateLimitError("429", retry_after=seconds)
            return "ok"
        return call

    policy = RetryPolicy(backoff=0.01, max_retry_after=60.0)
    assert call_with_retries(asks_for(7.5), policy, on_retry=lambda _: None,
                             sleep=waits.append) == "ok"
    assert waits == [7.5]
    with pytest.raises(RateLimitError):  # an hour is more than the policy waits for
        call_with_retries(asks_for(3600.0), policy, on_retry=lambda _: None, sleep=waits.append)
    assert waits == [7.5]
