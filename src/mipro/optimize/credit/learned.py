"""MIPRO++'s proposal policy: learning to propose. A TPE model chooses how each instruction
is proposed, and learns from the whole-program score the proposal led to."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from mipro.optimize.credit.bayesian import tpe_sampler
from mipro.optimize.credit.online import Proposal
from mipro.optimize.run.candidates import Candidates, demos_param
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.proposals import ProposalSettings
from mipro.optimize.run.records import ProposalModel
from mipro.optimize.run.seeds import sub_seed
from mipro.optimize.run.study import RunStudy
from mipro.optimize.search import Search

TEMPERATURES = (0.5, 0.8, 1.0, 1.2)
_STUDY = "proposals"
_RUN_TRIAL = "run_trial"


def proposal_space(candidates: Candidates, groundings: Mapping[str, Grounding],
                   tips: tuple[str, ...], temperatures: tuple[float, ...]
                   ) -> dict[str, CategoricalDistribution]:
    """Per predictor: the proposal settings (summaries on/off, tip, temperature, the demo set
    shown to the proposer) and the demo set the program uses (when there is a choice)."""
    space: dict[str, CategoricalDistribution] = {}
    for name, options in candidates.predictors.items():
        space[f"{name}.dataset_summary"] = CategoricalDistribution([True, False])
        space[f"{name}.program_summary"] = CategoricalDistribution([True, False])
        space[f"{name}.tip"] = CategoricalDistribution(list(tips))
        space[f"{name}.temperature"] = CategoricalDistribution(list(temperatures))
        if len(groundings[name].demo_sets) > 1:
            space[f"{name}.demo_set"] = CategoricalDistribution(list(range(len(groundings[name].demo_sets))))
        if len(options.demo_sets) > 1:
            space[demos_param(name)] = CategoricalDistribution(list(range(len(options.demo_sets))))
    return space


@dataclass(frozen=True, kw_only=True)
class LearnedProposals:
    """A TPE model in its own study (``<run>:proposals``) samples each trial's proposal settings
    and demo sets; each of its trials is told the whole-program minibatch score of the
    configuration that used its instructions. Its first ``schedule.startup_trials()`` trials
    are sampled at random, like the search's."""

    tips: tuple[str, ...]
    temperatures: tuple[float, ...] = TEMPERATURES
    name: str = "mipro++"

    def choose(self, search: Search, trial_number: int) -> Proposal:
        study = search.companion(_STUDY)
        space = proposal_space(search.candidates, search.groundings, self.tips, self.temperatures)
        credited = _credited(study, trial_number)
        if credited is not None:  # a run killed after crediting this trial, before recording it
            trial, params = None, credited.params
        else:
            sampler = tpe_sampler(sub_seed(search.seed, "tpe", _STUDY, trial_number),
                                  search.schedule.startup_trials())
            trial = study.ask(space, sampler)
            trial.set_user_attr(_RUN_TRIAL, trial_number)
            params = trial.params
        names = sorted({param.rpartition(".")[0] for param in space})
        settings = {
            name: ProposalSettings(
                dataset_summary=params[f"{name}.dataset_summary"],
                program_summary=params[f"{name}.program_summary"],
                demo_set=params.get(f"{name}.demo_set", 0), tip=params[f"{name}.tip"],
                temperature=params[f"{name}.temperature"],
            )
            for name in names
        }
        demos = {param: int(value) for param, value in params.items() if param.endswith(".demos")}
        return Proposal(settings=settings, demos=demos, trial=trial)

    def credit(self, search: Search, proposal: Proposal, score: float,
               minibatch_ids: list[int]) -> None:
        if proposal.trial is not None:  # else it was credited before a kill
            search.companion(_STUDY).tell(proposal.trial, score, minibatch_ids)

    def abandon(self, search: Search, proposal: Proposal) -> None:
        if proposal.trial is not None:
            search.companion(_STUDY).abandon(proposal.trial)

    def proposal_model(self, search: Search) -> ProposalModel:
        study = search.companion(_STUDY)
        return ProposalModel(study_name=study.study.study_name, importances=_importances(study))


def _credited(study: RunStudy, trial_number: int) -> optuna.trial.FrozenTrial | None:
    """The proposal model's completed trial for the run's trial ``trial_number``, if any."""
    trials = study.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return next((t for t in trials if t.user_attrs.get(_RUN_TRIAL) == trial_number), None)


def _importances(study: RunStudy) -> dict[str, float]:
    """How much each setting mattered to the score (PED-ANOVA, which needs no scikit-learn);
    empty with fewer than two scored proposals."""
    if len(study.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 2:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna warns when few trials separate the quantiles
        importances = optuna.importance.get_param_importances(
            study.study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    return {param: round(value, 4) for param, value in importances.items()}
