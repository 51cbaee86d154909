"""MIPRO++: learning to propose. A Bayesian model chooses how each instruction is proposed."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from mipro.errors import ConfigurationError
from mipro.evaluate import Metric
from mipro.optimize.bootstrap import BootstrapSettings
from mipro.optimize.engine import Optimizer, Run, fixed_instructions
from mipro.optimize.online import Proposal, ProposingSearch
from mipro.optimize.propose import ProposalSettings
from mipro.optimize.records import Candidates, DemoSet, Grounding, demos_param
from mipro.optimize.search import Search, tpe_sampler
from mipro.optimize.study import RunStudy
from mipro.optimize.tips import TIPS, check_tips

TEMPERATURES = (0.5, 0.8, 1.0, 1.2)


def proposal_space(candidates: Candidates, groundings: Mapping[str, Grounding],
                   tips: Sequence[str], temperatures: Sequence[float]
                   ) -> dict[str, CategoricalDistribution]:
    """Per predictor: the proposal hyperparameters (summaries on/off, tip, temperature, the demo
    set shown to the proposer) and the demo set the program uses (when there is a choice)."""
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


class LearnedProposals:
    """MIPRO++'s proposal policy: a TPE model in its own study (``<run>:proposals``) samples
    each trial's proposal hyperparameters and demo sets; each proposal trial is told the
    whole-program minibatch score of the configuration that used its instructions."""

    def __init__(self, study: RunStudy, space: dict[str, CategoricalDistribution], *, seed: int,
                 n_startup_trials: int = 5) -> None:
        self.study, self.space = study, space
        self.seed, self.n_startup_trials = seed, n_startup_trials
        study.fail_stale_trials()

    def choose(self, trial_number: int) -> Proposal:
        trial = self.study.ask(self.space, tpe_sampler(self.study, self.seed, self.n_startup_trials))
        trial.set_user_attr("run_trial", trial_number)
        params = trial.params
        names = sorted({param.rpartition(".")[0] for param in self.space})
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
        return Proposal(settings, demos, trial)

    def credit(self, proposal: Proposal, score: float, minibatch_ids: list[int]) -> None:
        assert proposal.trial is not None
        self.study.tell(proposal.trial, score, minibatch_ids)

    def abandon(self, proposal: Proposal) -> None:
        assert proposal.trial is not None
        self.study.abandon(proposal.trial)

    def importances(self) -> dict[str, float]:
        """How much each hyperparameter mattered to the score (PED-ANOVA, which needs no
        scikit-learn); empty with fewer than two scored proposals."""
        study = self.study.study
        if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 2:
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optuna warns when few trials separate the quantiles
            importances = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
        return {param: round(value, 4) for param, value in importances.items()}


class MIPROPlusPlus(Optimizer):
    """MIPRO++ (``zero_shot=True``: 0-shot MIPRO++). Each trial proposes a new instruction for
    every module with proposal hyperparameters (dataset summary on/off, program summary on/off,
    tip, temperature, which bootstrapped demo set the proposer sees) and demo sets that a TPE
    model samples; the whole-program minibatch score of the new configuration is credited back
    to those choices. ``result.candidates`` keeps every instruction's proposal settings and
    ``result.extras["proposal_importances"]`` their learned importances. With
    ``zero_shot=True`` the final program keeps the demos it came with. Keyword arguments are
    those of ``Optimizer``.
    """

    def __init__(self, metric: Metric, *, zero_shot: bool = False,
                 tips: Sequence[str] = tuple(TIPS), temperatures: Sequence[float] = TEMPERATURES,
                 **options: Any) -> None:
        super().__init__(metric, **options)
        if not temperatures or min(temperatures) < 0:
            raise ConfigurationError(
                f"temperatures must be a non-empty list of values >= 0, got {list(temperatures)}")
        self.zero_shot, self.tips, self.temperatures = zero_shot, check_tips(tips), tuple(temperatures)

    def _bootstrap_settings(self, num_candidates: int) -> BootstrapSettings:
        settings = super()._bootstrap_settings(num_candidates)
        return replace(settings, max_labeled_demos=0) if self.zero_shot else settings

    def _grounding_sources(self) -> ProposalSettings:
        return ProposalSettings()

    def _make_candidates(self, run: Run, demo_sets: Mapping[str, list[DemoSet]],
                         groundings: Mapping[str, Grounding]) -> tuple[Candidates, int]:
        if self.zero_shot:
            demo_sets = {name: sets[:1] for name, sets in demo_sets.items()}
        return fixed_instructions(run.program, demo_sets), 0

    def _make_search(self, run: Run, candidates: Candidates,
                     groundings: Mapping[str, Grounding]) -> Search:
        space = proposal_space(candidates, groundings, self.tips, self.temperatures)
        policy = LearnedProposals(run.study.companion("proposals"), space, seed=self.seed)
        return self._new_search(ProposingSearch, run, candidates, proposer=run.prompt_lm,
                                groundings=groundings, policy=policy, rollout_prefix="mipro++")

    def _extras(self, search: Search) -> dict[str, Any]:
        assert isinstance(search, ProposingSearch) and isinstance(search.policy, LearnedProposals)
        return {"proposal_study": search.policy.study.study.study_name,
                "proposal_importances": search.policy.importances()}

    def _settings(self) -> dict[str, Any]:
        return {"zero_shot": self.zero_shot, "tips": list(self.tips),
                "temperatures": list(self.temperatures)}

    def _planned_proposals(self, run: Run) -> int:
        return len(run.program.named_predictors()) * run.num_trials
