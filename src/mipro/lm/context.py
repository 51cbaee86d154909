"""Which LM a program runs on: explicit per predictor, else the active one, else the default."""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

from mipro.lm.base import LM

_active_lm: contextvars.ContextVar[LM | None] = contextvars.ContextVar("mipro_lm", default=None)
_default_lock = threading.Lock()
_default_lm: LM | None = None


@contextlib.contextmanager
def using_lm(lm: LM) -> Iterator[LM]:
    """Run the enclosed code with ``lm`` as the LM of every predictor that names none."""
    token = _active_lm.set(lm)
    try:
        yield lm
    finally:
        _active_lm.reset(token)


def active_lm() -> LM:
    """The LM in effect here: the one set by ``using_lm``, else the embedded default model."""
    lm = _active_lm.get()
    return lm if lm is not None else default_lm()


def default_lm() -> LM:
    """The embedded local model (SmolLM2-135M-Instruct), loaded once per process."""
    global _default_lm
    with _default_lock:
        if _default_lm is None:
            from mipro.lm.local import LocalLM

            _default_lm = LocalLM()
        return _default_lm
