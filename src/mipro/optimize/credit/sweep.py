"""Bootstrap random search's credit assignment: none; every demo-set candidate is scored on
all the search's validation examples."""

from __future__ import annotations

from dataclasses import dataclass

from mipro.optimize.run.candidates import Configuration, demos_param
from mipro.optimize.run.records import TrialRecord
from mipro.optimize.search import Search, SearchSchedule, SearchStrategy


@dataclass(frozen=True, kw_only=True)
class DemoSetSweep(SearchStrategy):
    """Trial ``k`` gives every predictor its demo set ``k + 1`` (the sets are bootstrapped from
    the same examples, so they fit together) and scores it on all the search's validation
    examples.
    Candidate 0 is the program as given, so there are ``num_candidates - 1`` trials."""

    def next_trial(self, search: Search) -> TrialRecord | None:
        index = len(search.study.completed_trials()) + 1
        sizes = {name: len(options.demo_sets) for name, options in search.candidates.predictors.items()}
        if index >= max(sizes.values()):
            return None
        configuration: Configuration = {
            demos_param(name): index for name, size in sizes.items() if size > index}
        full = search.full_evaluate(configuration, after_trial=search.study.next_trial_number())
        return search.study.add_trial(configuration, full.score, list(search.search_examples()))

    def num_trials(self, num_candidates: int, num_trials: int) -> int:
        return num_candidates - 1

    def planned_program_runs(self, schedule: SearchSchedule, valset_size: int) -> int:
        return (schedule.num_trials + 1) * valset_size
