"""Stage 3: Bayesian search (TPE, ask/tell) over minibatches, with scheduled full evaluations.

Minibatch scores are the observations of the TPE surrogate. Full-validation scores are a
different kind of observation: they are kept apart (study user attributes) and only decide
which evaluated configuration wins.
"""

from __future__ import annotations

import random
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna
from optuna.distributions import CategoricalDistribution

from mipro.errors import BudgetExhausted
from mipro.evaluate import Evaluate, Metric
from mipro.optimize.budget import CallBudget
from mipro.optimize.records import (
    Candidates,
    Configuration,
    FullEvaluation,
    TrialRecord,
    configuration_key,
    demos_param,
    instruction_param,
)
from mipro.optimize.study import RunStudy
from mipro.program import Example, Module

TrialListener = Callable[[TrialRecord, FullEvaluation | None], None]


@dataclass(frozen=True)
class SearchSettings:
    """How long the search runs and how it samples."""

    num_trials: int
    minibatch_size: int = 35
    full_eval_every: int = 5
    seed: int = 0
    n_startup_trials: int = 5
    num_threads: int = 1
    display_progress: bool = True


def build_program(program: Module, candidates: Candidates, configuration: Configuration) -> Module:
    """A copy of ``program`` with the chosen instruction and demo set on every predictor."""
    built = program.deepcopy()
    for name, predictor in built.named_predictors():
        options = candidates.predictors[name]
        instruction = options.instructions[configuration.get(instruction_param(name), 0)]
        predictor.signature = predictor.signature.with_instructions(instruction)
        predictor.demos = [Example(d) for d in options.demo_sets[configuration.get(demos_param(name), 0)]]
    return built


def search_space(candidates: Candidates) -> dict[str, CategoricalDistribution]:
    """One categorical instruction index and one demo-set index per predictor (when > 1 choice)."""
    space: dict[str, CategoricalDistribution] = {}
    for name, options in candidates.predictors.items():
        if len(options.instructions) > 1:
            space[instruction_param(name)] = CategoricalDistribution(list(range(len(options.instructions))))
        if len(options.demo_sets) > 1:
            space[demos_param(name)] = CategoricalDistribution(list(range(len(options.demo_sets))))
    return space


class BayesianSearch:
    """Runs minibatch trials until ``num_trials`` are complete or the budget is spent."""

    def __init__(self, program: Module, candidates: Candidates, valset: Sequence[Example],
                 metric: Metric, study: RunStudy, settings: SearchSettings, budget: CallBudget,
                 on_trial: TrialListener | None = None) -> None:
        self.program = program
        self.candidates = candidates
        self.valset = list(valset)
        self.metric = metric
        self.study = study
        self.settings = settings
        self.budget = budget
        self.on_trial = on_trial
        self.space = search_space(candidates)
        self.stopped_by_budget = False

    def run(self) -> None:
        """Evaluate the baseline, then trial after trial; raises nothing on budget exhaustion."""
        self.study.fail_stale_trials()
        try:
            self.full_evaluate(self.candidates.baseline(), after_trial=-1)
            while self.study.count_active_trials() < self.settings.num_trials and self.space:
                record = self._one_trial()
                done = len(self.study.completed_trials())
                full = None
                if done % self.settings.full_eval_every == 0:
                    full = self.evaluate_best_unevaluated(after_trial=record.number)
                if self.on_trial:
                    self.on_trial(record, full)
            self.evaluate_best_unevaluated(after_trial=self._last_trial_number())
        except BudgetExhausted:
            self.stopped_by_budget = True

    def _one_trial(self) -> TrialRecord:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=self.settings.seed * 100_003 + len(self.study.study.trials),
                multivariate=True, n_startup_trials=self.settings.n_startup_trials,
            )
        trial = self.study.ask(self.space, sampler)
        configuration: Configuration = {k: int(v) for k, v in trial.params.items()}
        ids = self._minibatch_ids(trial.number)
        try:
            score = self._evaluate(configuration, [self.valset[i] for i in ids], "Trial").score
        except BaseException:
            self.study.abandon(trial)
            raise
        self.study.tell(trial, score, ids)
        return TrialRecord(trial.number, configuration, tuple(ids), score)

    def _minibatch_ids(self, trial_number: int) -> list[int]:
        size = min(self.settings.minibatch_size, len(self.valset))
        rng = random.Random(f"{self.settings.seed}:{trial_number}")
        return sorted(rng.sample(range(len(self.valset)), size))

    def evaluate_best_unevaluated(self, *, after_trial: int) -> FullEvaluation | None:
        """Fully evaluate the configuration with the best mean minibatch score not yet evaluated."""
        scores: dict[str, list[float]] = defaultdict(list)
        configurations: dict[str, Configuration] = {}
        for trial in self.study.completed_trials():
            configuration = {**self.candidates.baseline(), **trial.configuration}
            key = configuration_key(configuration)
            scores[key].append(trial.minibatch_score)
            configurations[key] = configuration
        ranked = sorted(scores, key=lambda key: -sum(scores[key]) / len(scores[key]))
        for key in ranked:
            if not self.study.has_full_evaluation(configurations[key]):
                return self.full_evaluate(configurations[key], after_trial=after_trial)
        return None

    def full_evaluate(self, configuration: Configuration, *, after_trial: int) -> FullEvaluation | None:
        """Score ``configuration`` on the whole validation set (once per configuration)."""
        if self.study.has_full_evaluation(configuration):
            return None
        result = self._evaluate(configuration, self.valset, "Full evaluation")
        record = FullEvaluation(configuration, result.score, after_trial, result.num_failed)
        self.study.add_full_evaluation(record)
        return record

    def _evaluate(self, configuration: Configuration, examples: list[Example], what: str):
        program = build_program(self.program, self.candidates, configuration)
        evaluate = Evaluate(examples, self.metric, num_threads=self.settings.num_threads,
                            display_progress=self.settings.display_progress, description=what)
        return evaluate(program)

    def _last_trial_number(self) -> int:
        trials = self.study.completed_trials()
        return trials[-1].number if trials else -1


def best_full_evaluation(evaluations: Sequence[FullEvaluation]) -> FullEvaluation:
    """The winner: highest full score, the earliest on ties (the baseline wins ties)."""
    return max(evaluations, key=lambda record: (record.score, -record.after_trial))
