"""Per-context sampling overrides, used by optimizers to draw fresh samples."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from mipro.lm.base import rollout_seed


@dataclass(frozen=True)
class Sampling:
    """Temperature, rollout and seed applied to every predictor call in a context.

    The rollout names the sample (it is part of the cache key); the seed is what the backend
    samples with, derived from the rollout unless given.
    """

    temperature: float | None = None
    rollout: int | str = 0
    seed: int | None = None

    @property
    def request_seed(self) -> int:
        """The seed of the requests made in this context."""
        return self.seed if self.seed is not None else rollout_seed(self.rollout)


_current: contextvars.ContextVar[Sampling] = contextvars.ContextVar(
    "mipro_sampling", default=Sampling()
)


@contextlib.contextmanager
def sampling(
    *, temperature: float | None = None, rollout: int | str = 0, seed: int | None = None
) -> Iterator[Sampling]:
    """Within this context, predictors sample at ``temperature``, as rollout ``rollout``, with
    sampling seed ``seed`` (by default one derived from the rollout)."""
    token = _current.set(Sampling(temperature, rollout, seed))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current_sampling() -> Sampling:
    return _current.get()
