"""Thread-safe usage accounting per LM."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TokenUsage:
    """Tokens one LM call used."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class UsageSnapshot:
    """Usage counters at one moment; subtract two snapshots to get the usage in between.

    ``calls`` are the calls that got a reply from the model, ``requests`` what was sent to it
    (every attempt, retries included), ``retries`` the attempts that followed a failed one, and
    ``errors`` the calls that failed after their retries.
    """

    calls: int = 0
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    retries: int = 0
    errors: int = 0
    parse_failures: dict[str, int] = field(default_factory=dict)
    parse_retries: dict[str, int] = field(default_factory=dict)

    def __sub__(self, other: UsageSnapshot) -> UsageSnapshot:
        return UsageSnapshot(
            calls=self.calls - other.calls,
            requests=self.requests - other.requests,
            cache_hits=self.cache_hits - other.cache_hits,
            prompt_tokens=self.prompt_tokens - other.prompt_tokens,
            completion_tokens=self.completion_tokens - other.completion_tokens,
            seconds=self.seconds - other.seconds,
            retries=self.retries - other.retries,
            errors=self.errors - other.errors,
            parse_failures=dict(Counter(self.parse_failures) - Counter(other.parse_failures)),
            parse_retries=dict(Counter(self.parse_retries) - Counter(other.parse_retries)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "requests": self.requests, "cache_hits": self.cache_hits,
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3), "retries": self.retries, "errors": self.errors,
            "parse_failures": dict(self.parse_failures), "parse_retries": dict(self.parse_retries),
        }


class UsageTracker:
    """Counts calls, requests, cache hits, tokens, time, retries and parse failures of one LM."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._seconds = 0.0
        self._parse_failures: Counter[str] = Counter()
        self._parse_retries: Counter[str] = Counter()

    def record_call(self, usage: TokenUsage, seconds: float) -> None:
        with self._lock:
            self._counts["calls"] += 1
            self._counts["prompt_tokens"] += usage.prompt_tokens
            self._counts["completion_tokens"] += usage.completion_tokens
            self._seconds += seconds

    def record_cache_hit(self) -> None:
        with self._lock:
            self._counts["cache_hits"] += 1

    def record_request(self) -> None:
        with self._lock:
            self._counts["requests"] += 1

    def record_retry(self) -> None:
        with self._lock:
            self._counts["retries"] += 1

    def record_error(self) -> None:
        with self._lock:
            self._counts["errors"] += 1

    def record_parse_retry(self, predictor: str) -> None:
        with self._lock:
            self._parse_retries[predictor] += 1

    def record_parse_failure(self, predictor: str) -> None:
        with self._lock:
            self._parse_failures[predictor] += 1

    def snapshot(self) -> UsageSnapshot:
        with self._lock:
            return UsageSnapshot(
                calls=self._counts["calls"], requests=self._counts["requests"],
                cache_hits=self._counts["cache_hits"],
                prompt_tokens=self._counts["prompt_tokens"],
                completion_tokens=self._counts["completion_tokens"],
                seconds=self._seconds, retries=self._counts["retries"],
                errors=self._counts["errors"],
                parse_failures=dict(self._parse_failures),
                parse_retries=dict(self._parse_retries),
            )

    @property
    def calls(self) -> int:
        with self._lock:
            return self._counts["calls"]
