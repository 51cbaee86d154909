"""Online proposals: each trial proposes a new instruction for every predictor, then scores them.

Module-level OPRO and MIPRO++ share this strategy. They differ in their ``ProposalPolicy``: how
each trial's proposals are made (a fixed grounding plus the predictor's history of
instructions and scores, ``history.py``; or proposal settings sampled by a Bayesian model,
``learned.py``) and what the policy learns from the whole-program score of the new
configuration.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

import optuna

from mipro.optimize.proposal_filter import rejection, seed_constraints
from mipro.optimize.propose import propose_instruction
from mipro.optimize.run.candidates import Configuration, instruction_param
from mipro.optimize.run.grounding import ScoredInstruction
from mipro.optimize.run.proposals import ProposalRecord, ProposalSettings
from mipro.optimize.run.records import ProposalModel, TrialRecord
from mipro.optimize.run.seeds import sub_seed
from mipro.optimize.search import Search, SearchSchedule, SearchStrategy


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """How one trial proposes each predictor's instruction, and which demo sets it uses."""

    settings: Mapping[str, ProposalSettings]
    demos: Configuration = field(default_factory=dict)
    trial: optuna.Trial | None = None
    """The policy's own trial behind these choices, when it keeps a model of them and has not
    been told their score yet."""


class ProposalPolicy(Protocol):
    """Decides each trial's proposals and learns from the score they got."""

    name: str
    """Part of every proposal's rollout, so that two policies never share a sample."""

    def choose(self, search: Search, trial_number: int) -> Proposal: ...

    def credit(self, search: Search, proposal: Proposal, score: float,
               minibatch_ids: list[int]) -> None: ...

    def abandon(self, search: Search, proposal: Proposal) -> None: ...

    def proposal_model(self, search: Search) -> ProposalModel | None: ...


@dataclass(frozen=True, kw_only=True)
class OnlineProposals(SearchStrategy):
    """Trial ``t`` proposes one instruction per predictor (its rollout is the sub-seed
    ``(seed, <policy>, <predictor>, t)``), adds it to the candidates, and scores the
    configuration of the new instructions on a minibatch. The proposer may be shown each
    predictor's ``history_size`` best instructions with the whole-program scores they got (the
    baseline's full score for the original instruction). A proposal that repeats an instruction
    the predictor has reuses it. One that cannot be parsed, or that ``proposal_filter`` rejects
    (generic, a near-duplicate of an instruction the predictor has, or missing a constraint of
    its seed instruction), is skipped and counted: that predictor keeps its best instruction so
    far.
    """

    policy: ProposalPolicy
    history_size: int = 8

    def next_trial(self, search: Search) -> TrialRecord | None:
        number = search.study.next_trial_number()
        proposal = self.policy.choose(search, number)
        try:
            proposed, rejected = self._propose(search, proposal, number)
            configuration = {**proposed, **proposal.demos}
            ids = search.minibatch_ids(number)
            score = search.score(configuration, ids)
        except BaseException:
            self.policy.abandon(search, proposal)
            raise
        self.policy.credit(search, proposal, score, ids)
        return search.study.add_trial(configuration, score, ids, rejected_proposals=rejected)

    def planned_proposals(self, num_trials: int, num_predictors: int) -> int:
        return num_trials * num_predictors

    def proposal_model(self, search: Search) -> ProposalModel | None:
        return self.policy.proposal_model(search)

    def _propose(self, search: Search, proposal: Proposal,
                 number: int) -> tuple[Configuration, Counter[str]]:
        """Propose every predictor's next instruction; the configuration that uses them, and
        the proposals skipped, by reason."""
        histories = self.histories(search)
        candidates = search.candidates
        configuration: Configuration = {}
        rejected: Counter[str] = Counter()
        for name, predictor in search.program.named_predictors():
            settings = proposal.settings[name]
            text = propose_instruction(
                search.prompt_lm, predictor, replace(search.groundings[name], history=histories[name]),
                settings, rollout=sub_seed(search.seed, self.policy.name, name, number),
            )
            kept = candidates.predictors[name].instructions
            reason = ("unparseable" if text is None else None if text in kept  # reused
                      else rejection(text, seed_constraints(predictor.signature), kept))
            if reason is not None:
                rejected[reason] += 1
                configuration[instruction_param(name)] = histories[name][-1].index if histories[name] else 0
                continue
            candidates, index = candidates.with_instruction(
                name, text, ProposalRecord(**asdict(settings), trial=number))
            configuration[instruction_param(name)] = index
        search.candidates = candidates
        search.study.save_candidates(candidates)
        return configuration, rejected

    def histories(self, search: Search) -> dict[str, tuple[ScoredInstruction, ...]]:
        """Every predictor's best ``history_size`` instructions so far with their mean scores,
        worst first."""
        scores: dict[str, dict[int, list[float]]] = {
            name: defaultdict(list) for name in search.candidates.predictors}
        baseline = next((e for e in search.study.full_evaluations() if e.after_trial == -1), None)
        trials = search.study.completed_trials()
        for name, by_index in scores.items():
            if baseline is not None:
                by_index[0].append(baseline.score)
            for trial in trials:
                by_index[trial.configuration.get(instruction_param(name), 0)].append(
                    trial.minibatch_score)
        histories = {}
        for name, by_index in scores.items():
            means = sorted(((index, sum(s) / len(s)) for index, s in by_index.items()),
                           key=lambda pair: (pair[1], pair[0]))[-self.history_size:]
            instructions = search.candidates.predictors[name].instructions
            histories[name] = tuple(ScoredInstruction(index=index, text=instructions[index], score=mean)
                                    for index, mean in means)
        return histories
