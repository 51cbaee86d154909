"""MIPRO's credit assignment: a TPE surrogate over every predictor's candidate indices."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import optuna
from optuna.distributions import CategoricalDistribution

from mipro.optimize.run.candidates import Candidates, Configuration, demos_param, instruction_param
from mipro.optimize.run.records import TrialRecord
from mipro.optimize.run.seeds import sub_seed
from mipro.optimize.search import Search, SearchStrategy


def tpe_sampler(seed: int, n_startup_trials: int) -> optuna.samplers.TPESampler:
    """A multivariate TPE sampler for one trial. Seed it with a sub-seed of the run's seed and
    the trial's number, so that a resumed run (or a fresh process) asks for the same trials as
    an uninterrupted one. With ``constant_liar``, trials still running count as bad ones, so
    trials asked while others run do not all pick the same configuration (with one worker
    nothing runs while a trial is asked, and the draw is the same as without it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                          n_startup_trials=n_startup_trials)


def search_space(candidates: Candidates) -> dict[str, CategoricalDistribution]:
    """One categorical instruction index and one demo-set index per predictor (when > 1 choice)."""
    space: dict[str, CategoricalDistribution] = {}
    for name, options in candidates.predictors.items():
        if len(options.instructions) > 1:
            space[instruction_param(name)] = CategoricalDistribution(list(range(len(options.instructions))))
        if len(options.demo_sets) > 1:
            space[demos_param(name)] = CategoricalDistribution(list(range(len(options.demo_sets))))
    return space


@dataclass(frozen=True, kw_only=True)
class BayesianCredit(SearchStrategy):
    """A TPE model (Optuna, multivariate, ask/tell) learns from whole-program minibatch scores
    which candidates of which predictors score well: credit reaches each predictor through
    the surrogate. The first ``schedule.startup_trials()`` trials are sampled at random.
    Trials may run in parallel, in threads and in workers sharing the study."""

    parallel = True
    prunable = True

    def next_trial(self, search: Search) -> TrialRecord | None:
        space = search_space(search.candidates)
        if not space:
            return None
        startup = search.schedule.startup_trials()
        asked = search.study.ask_numbered(
            space, lambda number: tpe_sampler(sub_seed(search.seed, "tpe", "configurations",
                                                       number), startup),
            limit=search.schedule.num_trials)
        if asked is None:
            return None
        trial, number = asked
        configuration: Configuration = {k: int(v) for k, v in trial.params.items()}
        ids = search.minibatch_ids(number)
        try:
            with search.study.heartbeat(trial):
                scores = search.trial_scores(trial, configuration, ids)
        except optuna.exceptions.UpdateFinishedTrialError:
            return None  # another worker took it for dead and queued its retry
        except BaseException:
            search.study.abandon(trial)
            raise
        score = sum(scores.values()) / len(scores)
        pruned = len(scores) < len(ids)
        if pruned:
            search.study.prune(trial, list(scores))
        else:
            search.study.tell(trial, score, ids)
        return TrialRecord(number=number, configuration=configuration,
                           minibatch_ids=tuple(scores), minibatch_score=score, pruned=pruned)

