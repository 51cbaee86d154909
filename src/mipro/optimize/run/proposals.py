"""How instructions are proposed: the grounding sources, one proposal's settings, its record.

*Grounding* is what a proposer may be shown about the task for one predictor (see
``grounding.py``); ``GroundingSources`` switches each kind on or off. ``ProposalSettings`` are
the choices of one proposal: the sources it is shown, which demo set, the tip, the
temperature and the form of the reply. ``ProposalRecord`` keeps them with an instruction candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class GroundingSources:
    """Which kinds of grounding proposers may be shown; each can be switched off."""

    dataset_summary: bool = True
    program_summary: bool = True
    demos: bool = True
    history: bool = False
    """Earlier instructions of the predictor with the whole-program scores they got."""


NO_GROUNDING = GroundingSources(dataset_summary=False, program_summary=False, demos=False)


ProposalForm = Literal["instruction", "guidance", "fill_in"]
"""What a proposer writes: a whole new instruction, one sentence of guidance that is added to
the seed instruction (so the candidate keeps everything the seed states), or the choices that
fill in a fixed sentence added to the seed instruction."""


@dataclass(frozen=True, kw_only=True)
class ProposalSettings(GroundingSources):
    """The choices of one proposal: the sources it is shown, which of the grounding's demo
    sets, the tip, the sampling temperature and the form of the reply."""

    demo_set: int = 0
    tip: str = "none"
    temperature: float = 1.0
    form: ProposalForm = "instruction"


@dataclass(frozen=True, kw_only=True)
class ProposalRecord(ProposalSettings):
    """How one instruction candidate was proposed, and by which search trial (``None``:
    before the search)."""

    trial: int | None = None
