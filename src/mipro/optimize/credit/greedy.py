"""Greedy credit assignment: coordinate ascent that changes one predictor at a time."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from mipro.optimize.credit.bayesian import search_space
from mipro.optimize.run.candidates import (
    Candidates,
    Configuration,
    configuration_key,
    demos_param,
    instruction_param,
)
from mipro.optimize.run.records import TrialRecord
from mipro.optimize.run.seeds import sub_seed
from mipro.optimize.search import Search, SearchStrategy


def incumbent(trials: Sequence[TrialRecord]) -> Configuration:
    """The configuration kept so far: the first one, replaced by each later one that scored higher."""
    best = trials[0]
    for trial in trials[1:]:
        if trial.minibatch_score > best.minibatch_score:
            best = trial
    return best.configuration


@dataclass(frozen=True, kw_only=True)
class GreedyCredit(SearchStrategy):
    """Coordinate ascent over the fixed candidates.

    Trial 0 scores the program as given. Every later trial changes the candidates (instruction,
    demo set or both) of exactly one predictor of the incumbent, taking the predictors in
    turn, and the change is kept when the whole program scores higher. All trials are scored
    on the same minibatch, so each comparison is paired. It stops when no untried change is left.
    """

    def next_trial(self, search: Search) -> TrialRecord | None:
        trials = search.study.completed_trials()
        ids = search.minibatch_ids(0)
        if trials:
            configuration = self._next_change(search, trials)
            if configuration is None:
                return None
        else:
            configuration = {param: 0 for param in search_space(search.candidates)}
        return search.study.add_trial(configuration, search.score(configuration, ids), ids)

    def _next_change(self, search: Search, trials: Sequence[TrialRecord]) -> Configuration | None:
        kept = incumbent(trials)
        tried = {configuration_key(trial.configuration) for trial in trials}
        predictors = list(search.candidates.predictors)
        rng = random.Random(sub_seed(search.seed, "greedy", len(trials)))
        for offset in range(len(predictors)):
            predictor = predictors[(len(trials) - 1 + offset) % len(predictors)]
            options = [change for change in _changes(search.candidates, kept, predictor)
                       if configuration_key(change) not in tried]
            if options:
                return rng.choice(options)
        return None


def _changes(candidates: Candidates, kept: Configuration, predictor: str) -> list[Configuration]:
    """Every configuration that differs from ``kept`` in ``predictor``'s candidates only."""
    options = candidates.predictors[predictor]
    sizes = {instruction_param(predictor): len(options.instructions),
             demos_param(predictor): len(options.demo_sets)}
    params = [param for param, size in sizes.items() if size > 1]
    current = tuple(kept[param] for param in params)
    return [
        {**kept, **dict(zip(params, values))}
        for values in itertools.product(*(range(sizes[param]) for param in params))
        if values != current
    ]
