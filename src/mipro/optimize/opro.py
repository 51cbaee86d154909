"""Module-level OPRO: history-based credit assignment over instructions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mipro.errors import ConfigurationError
from mipro.evaluate import Metric
from mipro.optimize.bootstrap import BootstrapSettings
from mipro.optimize.engine import NO_GROUNDING, Optimizer, Run, fixed_instructions
from mipro.optimize.online import Proposal, ProposingSearch
from mipro.optimize.propose import ProposalSettings
from mipro.optimize.records import Candidates, DemoSet, Grounding
from mipro.optimize.search import Search


@dataclass(frozen=True)
class HistoryProposals:
    """OPRO's proposal policy: every proposal sees the same sources plus its module's history;
    the scores reach the proposer only through that history."""

    sources: ProposalSettings
    predictors: Sequence[str]

    def choose(self, trial_number: int) -> Proposal:
        return Proposal({name: replace(self.sources, demo_set=trial_number)
                         for name in self.predictors})

    def credit(self, proposal: Proposal, score: float, minibatch_ids: list[int]) -> None:
        """Nothing to learn: the next proposals read the score from the study's history."""

    def abandon(self, proposal: Proposal) -> None:
        """Nothing to undo."""


class ModuleOPRO(Optimizer):
    """Module-level OPRO: in each trial (a round), every module's proposer sees that module's
    best ``history_size`` earlier instructions with the whole-program scores they got and
    proposes the next one; the configuration of the new instructions is scored on a
    minibatch. ``grounded=True`` also shows the proposer the dataset and program summaries
    and bootstrapped demos; ``grounded=False`` only the history and the basic instruction.
    The final program keeps the demos it came with. Keyword arguments are those of ``Optimizer``.
    """

    def __init__(self, metric: Metric, *, grounded: bool = False, history_size: int = 8,
                 **options: Any) -> None:
        super().__init__(metric, **options)
        if history_size < 1:
            raise ConfigurationError(f"history_size must be >= 1, got {history_size}")
        self.grounded, self.history_size = grounded, history_size

    def _bootstrap_settings(self, num_candidates: int) -> BootstrapSettings:
        settings = super()._bootstrap_settings(num_candidates)
        # Grounded: bootstrapped demos for the proposer, no raw labels; else no demos at all.
        return replace(settings, max_labeled_demos=0,
                       max_bootstrapped_demos=settings.max_bootstrapped_demos * self.grounded)

    def _grounding_sources(self) -> ProposalSettings:
        return replace(ProposalSettings() if self.grounded else NO_GROUNDING, history=True)

    def _make_candidates(self, run: Run, demo_sets: Mapping[str, list[DemoSet]],
                         groundings: Mapping[str, Grounding]) -> tuple[Candidates, int]:
        return fixed_instructions(run.program, {name: sets[:1] for name, sets in demo_sets.items()}), 0

    def _make_search(self, run: Run, candidates: Candidates,
                     groundings: Mapping[str, Grounding]) -> Search:
        policy = HistoryProposals(self._grounding_sources(), list(candidates.predictors))
        return self._new_search(ProposingSearch, run, candidates, proposer=run.prompt_lm,
                                groundings=groundings, policy=policy, rollout_prefix="opro",
                                history_size=self.history_size)

    def _settings(self) -> dict[str, Any]:
        return {"grounded": self.grounded, "history_size": self.history_size}

    def _planned_proposals(self, run: Run) -> int:
        return len(run.program.named_predictors()) * run.num_trials
