"""Metering a stage of a run: what its LMs spent while it ran, added to the run's study."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

from mipro.optimize.run.budget import BudgetedLM
from mipro.optimize.run.records import StageUsage
from mipro.optimize.run.study import RunStudy


@contextlib.contextmanager
def metered(study: RunStudy, stage: str, lms: Sequence[BudgetedLM | None]) -> Iterator[None]:
    """Add what ``lms`` spend during the block, and its wall-clock time, to ``stage``'s usage
    in ``study``, also when the block raises an error (its calls were made). A Ctrl-C is left
    to stop the run without touching the storage, so like a kill it loses what the stage spent
    in this process."""
    trackers = list({id(lm.usage): lm.usage for lm in lms if lm is not None}.values())
    before = [tracker.snapshot() for tracker in trackers]
    started = time.perf_counter()

    def record() -> None:
        spent = StageUsage(wall_seconds=time.perf_counter() - started)
        for tracker, snapshot in zip(trackers, before):
            spent += StageUsage.of(tracker.snapshot() - snapshot)
        study.add_stage_usage(stage, spent)

    try:
        yield
    except Exception:
        record()
        raise
    record()
