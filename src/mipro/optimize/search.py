"""Stage 3: the search loop every optimizer shares, and MIPRO's Bayesian search (TPE, ask/tell).

A search scores configurations on minibatches and fully evaluates the most promising ones on a
schedule; strategies differ only in how they choose the next configuration (``BayesianSearch``
here; ``greedy.py``, ``online.py`` and ``demos_only.py``). Minibatch scores are the observations
of the TPE surrogate. Full-validation scores are a different kind of observation: they are kept
apart (study user attributes) and only decide which evaluated configuration wins.
"""

from __future__ import annotations

import random
import warnings
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import optuna
from optuna.distributions import CategoricalDistribution

from mipro.errors import BudgetExhausted
from mipro.evaluate import Evaluate, EvaluationResult, Metric
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


def tpe_sampler(study: RunStudy, seed: int, n_startup_trials: int) -> optuna.samplers.TPESampler:
    """A multivariate TPE sampler seeded by ``seed`` and the study's trial count, so that a
    resumed run (or a fresh process) asks for the same trials as an uninterrupted one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed * 100_003 + len(study.study.trials),
            multivariate=True, n_startup_trials=n_startup_trials,
        )


def search_space(candidates: Candidates) -> dict[str, CategoricalDistribution]:
    """One categorical instruction index and one demo-set index per predictor (when > 1 choice)."""
    space: dict[str, CategoricalDistribution] = {}
    for name, options in candidates.predictors.items():
        if len(options.instructions) > 1:
            space[instruction_param(name)] = CategoricalDistribution(list(range(len(options.instructions))))
        if len(options.demo_sets) > 1:
            space[demos_param(name)] = CategoricalDistribution(list(range(len(options.demo_sets))))
    return space


class Search(ABC):
    """Runs trials until ``num_trials`` are complete, the strategy has nothing left to try, or
    the budget is spent; full evaluations follow one schedule for every strategy.

    The contract of a subclass: ``_one_trial`` chooses a configuration, scores it and records
    it in the study (returning the record), or returns ``None`` when nothing is left to try.
    Everything it needs to continue must be read back from the study, so a run resumes.
    """

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
        self.stopped_by_budget = False
        self.skipped_proposals = 0

    def run(self) -> None:
        """Evaluate the baseline, then trial after trial; raises nothing on budget exhaustion."""
        self.study.fail_stale_trials()
        try:
            self.full_evaluate(self.candidates.baseline(), after_trial=-1)
            while self.study.count_active_trials() < self.settings.num_trials:
                record = self._one_trial()
                if record is None:
                    break
                done = len(self.study.completed_trials())
                full = None
                if done % self.settings.full_eval_every == 0:
                    full = self.evaluate_best_unevaluated(after_trial=record.number)
                if self.on_trial:
                    self.on_trial(record, full)
            self.evaluate_best_unevaluated(after_trial=self._last_trial_number())
        except BudgetExhausted:
            self.stopped_by_budget = True

    @abstractmethod
    def _one_trial(self) -> TrialRecord | None:
        """Choose, score and record one configuration; ``None`` when nothing is left to try."""

    def minibatch_ids(self, trial_number: int) -> list[int]:
        """The validation examples of one trial's minibatch (seeded by the trial number)."""
        size = min(self.settings.minibatch_size, len(self.valset))
        rng = random.Random(f"{self.settings.seed}:{trial_number}")
        return sorted(rng.sample(range(len(self.valset)), size))

    def score(self, configuration: Configuration, ids: Sequence[int]) -> float:
        """The mean score of ``configuration`` on the validation examples ``ids``."""
        return self._evaluate(configuration, [self.valset[i] for i in ids], "Trial").score

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

    def full_evaluate(self, configuration: Configuration, *, after_trial: int) -> FullEvaluation:
        """Score ``configuration`` on the whole validation set, once: a configuration evaluated
        before (also by an earlier process) gives back its stored record."""
        configuration = {**self.candidates.baseline(), **configuration}
        stored = self.study.full_evaluation(configuration)
        if stored is not None:
            return stored
        result = self._evaluate(configuration, self.valset, "Full evaluation")
        record = FullEvaluation(configuration, result.score, after_trial, result.num_failed)
        self.study.add_full_evaluation(record)
        return record

    def _evaluate(self, configuration: Configuration, examples: list[Example],
                  what: str) -> EvaluationResult:
        program = build_program(self.program, self.candidates, configuration)
        evaluate = Evaluate(examples, self.metric, num_threads=self.settings.num_threads,
                            display_progress=self.settings.display_progress, description=what)
        return evaluate(program)

    def _last_trial_number(self) -> int:
        trials = self.study.completed_trials()
        return trials[-1].number if trials else -1


class BayesianSearch(Search):
    """MIPRO's credit assignment: a TPE surrogate (ask/tell) over every predictor's candidate
    indices, learned from whole-program scores on random minibatches."""

    @cached_property
    def space(self) -> dict[str, CategoricalDistribution]:
        return search_space(self.candidates)

    def _one_trial(self) -> TrialRecord | None:
        if not self.space:
            return None
        sampler = tpe_sampler(self.study, self.settings.seed, self.settings.n_startup_trials)
        trial = self.study.ask(self.space, sampler)
        configuration: Configuration = {k: int(v) for k, v in trial.params.items()}
        ids = self.minibatch_ids(trial.number)
        try:
            score = self.score(configuration, ids)
        except BaseException:
            self.study.abandon(trial)
            raise
        self.study.tell(trial, score, ids)
        return TrialRecord(trial.number, configuration, tuple(ids), score)


def best_full_evaluation(evaluations: Sequence[FullEvaluation]) -> FullEvaluation:
    """The winner: highest full score, the earliest on ties (the baseline wins ties)."""
    return max(evaluations, key=lambda record: (record.score, -record.after_trial))
