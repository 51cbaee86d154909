"""Greedy credit assignment: coordinate ascent that changes one module at a time."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

from mipro.optimize.records import (
    Configuration,
    TrialRecord,
    configuration_key,
    demos_param,
    instruction_param,
)
from mipro.optimize.search import Search, search_space


def incumbent(trials: Sequence[TrialRecord]) -> Configuration:
    """The configuration kept so far: the first one, replaced by each later one that scored higher."""
    best = trials[0]
    for trial in trials[1:]:
        if trial.minibatch_score > best.minibatch_score:
            best = trial
    return best.configuration


class GreedySearch(Search):
    """Coordinate ascent over the fixed candidates.

    Trial 0 scores the program as given. Every later trial changes the candidates (instruction,
    demo set or both) of exactly one module of the incumbent, taking the modules in turn, and
    the change is kept when the whole program scores higher. All trials are scored on the same
    minibatch, so each comparison is paired. It stops when no untried change is left.
    """

    def _one_trial(self) -> TrialRecord | None:
        trials = self.study.completed_trials()
        ids = self.minibatch_ids(0)
        if trials:
            configuration = self._next_change(trials)
            if configuration is None:
                return None
        else:
            configuration = {param: 0 for param in search_space(self.candidates)}
        return self.study.record(configuration, self.score(configuration, ids), ids)

    def _next_change(self, trials: Sequence[TrialRecord]) -> Configuration | None:
        kept = incumbent(trials)
        tried = {configuration_key(trial.configuration) for trial in trials}
        modules = list(self.candidates.predictors)
        rng = random.Random(f"{self.settings.seed}:greedy:{len(trials)}")
        for offset in range(len(modules)):
            module = modules[(len(trials) - 1 + offset) % len(modules)]
            options = [change for change in self._changes(kept, module)
                       if configuration_key(change) not in tried]
            if options:
                return rng.choice(options)
        return None

    def _changes(self, kept: Configuration, module: str) -> list[Configuration]:
        """Every configuration that differs from ``kept`` in ``module``'s candidates only."""
        options = self.candidates.predictors[module]
        sizes = {instruction_param(module): len(options.instructions),
                 demos_param(module): len(options.demo_sets)}
        params = [param for param, size in sizes.items() if size > 1]
        current = tuple(kept[param] for param in params)
        return [
            {**kept, **dict(zip(params, values))}
            for values in itertools.product(*(range(sizes[param]) for param in params))
            if values != current
        ]
