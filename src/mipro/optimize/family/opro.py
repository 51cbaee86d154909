"""Module-level OPRO: history-based credit assignment over instructions.

Beside MIPRO (``mipro.py``): nothing is proposed before the search; each trial proposes
every predictor's next instruction from its history of instructions and scores, and the
program keeps the demos it came with.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mipro.errors import ConfigurationError
from mipro.evaluate import Metric
from mipro.optimize.credit.history import HistoryProposals
from mipro.optimize.credit.online import OnlineProposals
from mipro.optimize.optimizer import Optimizer
from mipro.optimize.plan import NO_DEMOS, ZERO_SHOT, Plan
from mipro.optimize.run.proposals import NO_GROUNDING, GroundingSources


class ModuleOPRO(Optimizer):
    """Module-level OPRO: in each trial (a round), every predictor's proposer sees that
    predictor's best ``history_size`` earlier instructions with the whole-program scores they
    got and proposes the next one; the configuration of the new instructions is scored on a
    minibatch. ``grounded=True`` also shows the proposer the dataset and program summaries
    and bootstrapped demos; ``grounded=False`` only the history and the basic instruction.
    The final program keeps the demos it came with. Keyword arguments are those of ``Optimizer``.
    """

    def __init__(self, metric: Metric, *, grounded: bool = False, history_size: int = 8,
                 **options: Any) -> None:
        if history_size < 1:
            raise ConfigurationError(f"history_size must be >= 1, got {history_size}")
        sources = replace(GroundingSources() if grounded else NO_GROUNDING, history=True)
        plan = Plan(
            demo_sets=ZERO_SHOT if grounded else NO_DEMOS,
            grounding=sources,
            proposals=None,
            search=OnlineProposals(policy=HistoryProposals(sources=sources), history_size=history_size),
        )
        super().__init__(metric, plan=plan, **options)
