"""A context-local record of every predictor call, correct under threads.

``with tracing() as steps:`` collects the calls made in this context. Threads started with a
copy of the context (as ``Evaluate`` does) each open their own trace.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mipro.program.module import Predictor

_current: contextvars.ContextVar[list[TraceStep] | None] = contextvars.ContextVar(
    "mipro_trace", default=None
)


@dataclass(frozen=True)
class TraceStep:
    """One predictor call: which predictor, what it received and what it returned."""

    predictor: Predictor
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@contextlib.contextmanager
def tracing() -> Iterator[list[TraceStep]]:
    """Collect the predictor calls made in this context (nested traces each see their calls)."""
    outer = _current.get()
    steps: list[TraceStep] = []
    token = _current.set(steps)
    try:
        yield steps
    finally:
        _current.reset(token)
        if outer is not None:
            outer.extend(steps)


def record(step: TraceStep) -> None:
    """Append ``step`` to the active trace, if any."""
    steps = _current.get()
    if steps is not None:
        steps.append(step)
