"""Claims: several harness processes share one output folder without running a run twice.

A process holds an exclusive ``flock`` on ``claims/<run>.pid`` while it runs that run. The
operating system releases the lock when the process ends, however it ends, so the claim of a
process that died is free again and no pid has to be checked. Claim files are left in place:
removing one could let two processes lock two different files of the same name. (``flock`` is
POSIX: the harness runs on Linux and macOS.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def claimed(claim: Path, done: Callable[[], bool]) -> Iterator[bool]:
    """Yields True while this process holds ``claim`` and ``done()`` is false, else False.

    ``done`` is checked after the lock is taken, so a run another process finished just before
    is not run again.
    """
    claim.parent.mkdir(parents=True, exist_ok=True)
    with claim.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            if done():
                yield False
                return
            handle.truncate(0)
            handle.write(str(os.getpid()))  # for a person looking at the folder
            handle.flush()
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
