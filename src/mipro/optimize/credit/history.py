"""Module-level OPRO's proposal policy: the history of instructions and scores is the signal."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mipro.optimize.credit.online import Proposal
from mipro.optimize.run.proposals import GroundingSources, ProposalSettings
from mipro.optimize.run.records import ProposalModel
from mipro.optimize.search import Search


@dataclass(frozen=True, kw_only=True)
class HistoryProposals:
    """Every proposal is shown the same grounding ``sources`` (the demo set changes with the
    trial) plus its predictor's history; scores reach the proposer only through that history."""

    sources: GroundingSources
    name: str = "opro"

    def choose(self, search: Search, trial_number: int) -> Proposal:
        settings = ProposalSettings(**asdict(self.sources), demo_set=trial_number)
        return Proposal(settings={name: settings for name in search.candidates.predictors})

    def credit(self, search: Search, proposal: Proposal, score: float,
               minibatch_ids: list[int]) -> None:
        """Nothing to learn: the next proposals read the score from the study's history."""

    def abandon(self, search: Search, proposal: Proposal) -> None:
        """Nothing to undo."""

    def proposal_model(self, search: Search) -> ProposalModel | None:
        return None
