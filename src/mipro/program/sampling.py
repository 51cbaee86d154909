"""Per-context sampling overrides, used by optimizers to draw fresh samples."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Sampling:
    """Temperature and rollout salt applied to every predictor call in a context."""

    temperature: float | None = None
    rollout: int | str = 0


_current: contextvars.ContextVar[Sampling] = contextvars.ContextVar(
    "mipro_sampling", default=Sampling()
)


@contextlib.contextmanager
def sampling(*, temperature: float | None = None, rollout: int | str = 0) -> Iterator[Sampling]:
    """Within this context, predictors sample at ``temperature`` with cache salt ``rollout``."""
    token = _current.set(Sampling(temperature, rollout))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current_sampling() -> Sampling:
    return _current.get()
