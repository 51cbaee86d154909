"""``auto`` presets: candidate and trial counts from the program's size, and how many of the
trials the TPE model leaves to random sampling.

A preset sizes the search (candidates, trials), never the data: full evaluations use every
validation example the user gave, unless the user caps them (``max_valset``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mipro.errors import ConfigurationError


@dataclass(frozen=True, kw_only=True)
class Preset:
    """Counts of one ``auto`` preset; trials grow with the number of predictors."""

    num_candidates: int
    base_trials: int
    trials_per_extra_predictor: int


PRESETS: dict[str, Preset] = {
    "light": Preset(num_candidates=5, base_trials=10, trials_per_extra_predictor=4),
    "medium": Preset(num_candidates=10, base_trials=25, trials_per_extra_predictor=8),
    "heavy": Preset(num_candidates=15, base_trials=50, trials_per_extra_predictor=15),
}


@dataclass(frozen=True, kw_only=True)
class Counts:
    """A run's sizes: candidates per predictor and trials."""

    num_candidates: int
    num_trials: int


def resolve_counts(auto: str | None, num_predictors: int, num_candidates: int | None,
                   num_trials: int | None) -> Counts:
    """The counts of preset ``auto``; explicit counts override it."""
    if auto is None:
        if num_candidates is None or num_trials is None:
            raise ConfigurationError(
                "with auto=None, give both num_candidates and num_trials (e.g. 6 and 20), "
                f"or pick auto from {sorted(PRESETS)}"
            )
        return Counts(num_candidates=num_candidates, num_trials=num_trials)
    if auto not in PRESETS:
        raise ConfigurationError(f"auto must be one of {sorted(PRESETS)} or None, got {auto!r}")
    preset = PRESETS[auto]
    trials = preset.base_trials + preset.trials_per_extra_predictor * max(0, num_predictors - 1)
    return Counts(num_candidates=num_candidates or preset.num_candidates,
                  num_trials=num_trials or trials)


STARTUP_SHARE = 0.2
"""The share of a search's trials that TPE samples at random before its model guides it."""
MAX_STARTUP_TRIALS = 10
"""Optuna's default startup count: longer searches keep it."""


def startup_trials(num_trials: int) -> int:
    """How many random trials TPE runs before its model guides the search: a fifth of the
    trials, at least 2 (one good and one bad observation to contrast) and at most 10. A light
    run of 10 trials thus has 8 model-guided trials (see docs/selection.md)."""
    return min(MAX_STARTUP_TRIALS, max(2, math.ceil(STARTUP_SHARE * num_trials)))
