"""Demo-only optimizers: bootstrapped demo sets are searched, instructions never change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mipro.evaluate import Metric
from mipro.optimize.engine import CREDIT_ASSIGNMENTS, Optimizer, Run, check_credit_assignment
from mipro.optimize.records import Candidates, Configuration, Grounding, TrialRecord, demos_param
from mipro.optimize.search import Search


class BayesianBootstrap(Optimizer):
    """``num_candidates`` bootstrapped demo sets per predictor, searched with a TPE surrogate over
    minibatches as in MIPRO (``credit_assignment="greedy"``: coordinate ascent); every
    predictor keeps its own instruction. Keyword arguments are those of ``Optimizer``.
    """

    def __init__(self, metric: Metric, *, credit_assignment: str = "bayesian",
                 **options: Any) -> None:
        super().__init__(metric, **options)
        self.credit_assignment = check_credit_assignment(credit_assignment)

    def _make_search(self, run: Run, candidates: Candidates,
                     groundings: Mapping[str, Grounding]) -> Search:
        return self._new_search(CREDIT_ASSIGNMENTS[self.credit_assignment], run, candidates)

    def _settings(self) -> dict[str, Any]:
        return {"credit_assignment": self.credit_assignment}


class BootstrapRandomSearch(Optimizer):
    """Bootstrap random search: candidate ``k`` gives every predictor demo set ``k`` (sets are
    bootstrapped from the same examples, so they fit together) and is scored on the whole
    validation set; the best is kept. Candidate 0 is the program as given, so there are
    ``num_candidates - 1`` trials (``num_trials`` is not used). Instructions never change.
    """

    def _make_search(self, run: Run, candidates: Candidates,
                     groundings: Mapping[str, Grounding]) -> Search:
        return self._new_search(DemoSetSearch, run, candidates)

    def _trial_count(self, num_candidates: int, num_trials: int) -> int:
        return num_candidates - 1

    def _planned_search_calls(self, run: Run) -> int:
        return (run.num_trials + 1) * len(run.valset)


class DemoSetSearch(Search):
    """Trial ``k`` scores demo set ``k + 1`` of every predictor on the whole validation set."""

    def _one_trial(self) -> TrialRecord | None:
        index = len(self.study.completed_trials()) + 1
        sizes = {name: len(options.demo_sets) for name, options in self.candidates.predictors.items()}
        if index >= max(sizes.values()):
            return None
        configuration: Configuration = {
            demos_param(name): index for name, size in sizes.items() if size > index}
        full = self.full_evaluate(configuration, after_trial=self.study.next_trial_number())
        return self.study.record(configuration, full.score, list(range(len(self.valset))))
