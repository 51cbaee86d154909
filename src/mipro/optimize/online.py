"""Online proposals: each trial proposes a new instruction for every module, then scores them.

Module-level OPRO and MIPRO++ share this search. They differ in their ``ProposalPolicy``: how
each trial's proposals are made (a fixed grounding plus the module's history of instructions
and scores, or proposal hyperparameters sampled by a Bayesian model) and what the policy
learns from the whole-program score that the new configuration gets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import optuna

from mipro.lm.base import LM
from mipro.optimize.propose import ProposalSettings, propose_instruction
from mipro.optimize.records import Configuration, Grounding, TrialRecord, instruction_param
from mipro.optimize.search import Search

History = list[tuple[int, float]]
"""(instruction index, mean whole-program score) of one module, worst first."""


@dataclass(frozen=True)
class Proposal:
    """How one trial proposes each predictor's instruction, and which demo sets it uses."""

    settings: Mapping[str, ProposalSettings]
    demos: Configuration = field(default_factory=dict)
    trial: optuna.Trial | None = None
    """The policy's own trial behind these choices, when it keeps a model of them."""


class ProposalPolicy(Protocol):
    """Decides each trial's proposals and learns from the score they got."""

    def choose(self, trial_number: int) -> Proposal: ...

    def credit(self, proposal: Proposal, score: float, minibatch_ids: list[int]) -> None: ...

    def abandon(self, proposal: Proposal) -> None: ...


class ProposingSearch(Search):
    """Trial ``t`` proposes one instruction per module (rollout ``<prefix>:<seed>:<module>:<t>``),
    adds it to the candidates, and scores the configuration of the new instructions on a
    minibatch. The proposer may be shown each module's ``history_size`` best instructions with
    the whole-program scores they got (the baseline's full score for the original instruction).
    A proposal that cannot be parsed is skipped: that module keeps its best instruction so far.
    """

    def __init__(self, *args: Any, proposer: LM, groundings: Mapping[str, Grounding],
                 policy: ProposalPolicy, rollout_prefix: str, history_size: int = 8,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proposer = proposer
        self.groundings = groundings
        self.policy = policy
        self.rollout_prefix = rollout_prefix
        self.history_size = history_size

    def _one_trial(self) -> TrialRecord | None:
        number = self.study.next_trial_number()
        proposal = self.policy.choose(number)
        try:
            configuration = {**self._propose(proposal, number), **proposal.demos}
            ids = self.minibatch_ids(number)
            score = self.score(configuration, ids)
        except BaseException:
            self.policy.abandon(proposal)
            raise
        self.policy.credit(proposal, score, ids)
        return self.study.record(configuration, score, ids)

    def _propose(self, proposal: Proposal, number: int) -> Configuration:
        histories = self.histories()
        configuration: Configuration = {}
        for name, predictor in self.program.named_predictors():
            options = self.candidates.predictors[name]
            shown = [(options.instructions[index], score) for index, score in histories[name]]
            settings = proposal.settings[name]
            text = propose_instruction(
                self.proposer, predictor, replace(self.groundings[name], history=shown), settings,
                rollout=f"{self.rollout_prefix}:{self.settings.seed}:{name}:{number}",
            )
            if text is None:
                self.skipped_proposals += 1
                configuration[instruction_param(name)] = histories[name][-1][0] if histories[name] else 0
                continue
            if text not in options.instructions:
                options.instructions.append(text)
                options.proposal_settings.append({"trial": number, **settings.as_dict()})
            configuration[instruction_param(name)] = options.instructions.index(text)
        self.study.save_candidates(self.candidates)
        return configuration

    def histories(self) -> dict[str, History]:
        """Every module's best ``history_size`` instructions so far with their mean scores."""
        scores: dict[str, dict[int, list[float]]] = {
            name: defaultdict(list) for name in self.candidates.predictors}
        baseline = next((e for e in self.study.full_evaluations() if e.after_trial == -1), None)
        trials = self.study.completed_trials()
        for name, by_index in scores.items():
            if baseline is not None:
                by_index[0].append(baseline.score)
            for trial in trials:
                by_index[trial.configuration.get(instruction_param(name), 0)].append(
                    trial.minibatch_score)
        return {
            name: sorted(((index, sum(s) / len(s)) for index, s in by_index.items()),
                         key=lambda pair: (pair[1], pair[0]))[-self.history_size:]
            for name, by_index in scores.items()
        }
