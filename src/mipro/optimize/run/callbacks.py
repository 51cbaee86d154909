"""The public callback API: ``Optimizer(..., callbacks=[...])`` calls each callback when a trial
ends and when a configuration has been scored on the whole validation set, with typed records.

A callback subclasses ``Callback`` and overrides what it needs (docs/callbacks.md shows MLflow).
An exception raised by a callback stops the run: it is the user's code, never a score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mipro.optimize.run.records import FullEvaluation, TrialRecord


@dataclass(frozen=True, kw_only=True)
class TrialEnd:
    """A trial finished: its record, what its configuration stands for, and the best full
    score so far."""

    run_name: str
    trial: TrialRecord
    num_trials: int
    """How many trials the search plans."""
    instructions: Mapping[str, str]
    """Predictor name -> the trial's instruction text."""
    best_full_score: float


@dataclass(frozen=True, kw_only=True)
class FullEvaluationEnd:
    """A configuration was scored on the whole validation set (``after_trial`` -1: the program
    as given)."""

    run_name: str
    evaluation: FullEvaluation
    instructions: Mapping[str, str]
    is_best: bool
    """Whether it is now the best fully evaluated configuration (the winner so far)."""


class Callback:
    """Override ``on_trial_end`` and/or ``on_full_evaluation``; both do nothing by default."""

    def on_trial_end(self, event: TrialEnd) -> None:
        """Called after each trial of the search."""

    def on_full_evaluation(self, event: FullEvaluationEnd) -> None:
        """Called after each new full evaluation."""
