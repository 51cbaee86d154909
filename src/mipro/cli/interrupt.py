"""Ctrl-C that is never lost.

Python turns SIGINT into a ``KeyboardInterrupt`` raised wherever the main thread happens to
be. When that is a finalizer or a callback whose exceptions are ignored (a database pool's
cleanup, a weakref callback), Python prints "Exception ignored ..." and the run goes on as if
nothing was pressed. ``CtrlC`` remembers the press, keeps that message off the terminal, and
raises ``KeyboardInterrupt`` again when the next trial or full evaluation ends.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from mipro.optimize.run.callbacks import Callback, FullEvaluationEnd, TrialEnd


class CtrlC(Callback):
    """An optimizer callback (``callbacks=[ctrl_c]``) that stops the run at the next trial
    end once Ctrl-C was pressed, for as long as ``installed()`` is active."""

    def __init__(self) -> None:
        self.pressed = False

    @contextmanager
    def installed(self) -> Iterator[CtrlC]:
        """Handle SIGINT while the block runs, unless the process ignores it (a background
        job), which stays so."""
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            yield self
            return
        previous_hook = sys.unraisablehook
        signal.signal(signal.SIGINT, self._press)
        sys.unraisablehook = self._unraisable(previous_hook)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            sys.unraisablehook = previous_hook

    def on_trial_end(self, event: TrialEnd) -> None:
        self._stop_if_pressed()

    def on_full_evaluation(self, event: FullEvaluationEnd) -> None:
        self._stop_if_pressed()

    def _press(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True
        raise KeyboardInterrupt

    def _stop_if_pressed(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    def _unraisable(self, previous: Any) -> Any:
        def hook(unraisable: Any) -> None:
            if not (self.pressed and isinstance(unraisable.exc_value, KeyboardInterrupt)):
                previous(unraisable)
        return hook
