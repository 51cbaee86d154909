"""MIPRO++: learning to propose. A Bayesian model chooses how each instruction is proposed.

Beside MIPRO (``mipro.py``): nothing is proposed before the search; each trial proposes every
predictor's next instruction with proposal settings (summaries on/off, tip, temperature,
the demo set shown) that a second TPE model samples and learns from the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mipro.errors import ConfigurationError
from mipro.evaluate import Metric
from mipro.optimize.credit.learned import TEMPERATURES, LearnedProposals
from mipro.optimize.credit.online import OnlineProposals
from mipro.optimize.optimizer import Optimizer
from mipro.optimize.plan import FEW_SHOT, ZERO_SHOT, Plan
from mipro.optimize.propose import TIPS, check_tips
from mipro.optimize.run.proposals import GroundingSources


class MIPROPlusPlus(Optimizer):
    """MIPRO++ (``zero_shot=True``: 0-shot MIPRO++). Each trial proposes a new instruction for
    every predictor with proposal settings (dataset summary on/off, program summary on/off,
    tip, temperature, which bootstrapped demo set the proposer sees) and demo sets that a TPE
    model samples; the whole-program minibatch score of the new configuration is credited back
    to those choices. ``result.candidates`` keeps every instruction's proposal record and
    ``result.proposal_model`` the learned importances. With ``zero_shot=True`` the final
    program keeps the demos it came with. Keyword arguments are those of ``Optimizer``.
    """

    def __init__(self, metric: Metric, *, zero_shot: bool = False,
                 tips: Sequence[str] = tuple(TIPS), temperatures: Sequence[float] = TEMPERATURES,
                 **options: Any) -> None:
        if not temperatures or min(temperatures) < 0:
            raise ConfigurationError(
                f"temperatures must be a non-empty list of values >= 0, got {list(temperatures)}")
        plan = Plan(
            demo_sets=ZERO_SHOT if zero_shot else FEW_SHOT,
            grounding=GroundingSources(),
            proposals=None,
            search=OnlineProposals(policy=LearnedProposals(tips=check_tips(tips),
                                                           temperatures=tuple(temperatures))),
        )
        super().__init__(metric, plan=plan, **options)
