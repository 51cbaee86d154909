"""MIPRO = bootstrap demo sets + propose grounded instructions + Bayesian search over both.

What sets it apart from the rest of the family (``family/``), stage by stage:

- demo sets: bootstrapped and labeled, and the search chooses among them (like bootstrap
  random search and Bayesian bootstrap; 0-shot MIPRO keeps the program's own demos);
- grounding and proposals: ``num_candidates - 1`` instructions per predictor proposed *before*
  the search, grounded in summaries of the data and program, a demo set and a random tip
  (the demo-only optimizers propose nothing; OPRO and MIPRO++ propose *during* the search);
- search: a TPE surrogate learns from minibatch scores which instruction and demo set of
  every predictor to use together (bootstrap random search scores whole demo sets on all the
  search's validation examples instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mipro.evaluate import Metric
from mipro.optimize.credit import credit_assignment as credit_strategy
from mipro.optimize.optimizer import Optimizer
from mipro.optimize.plan import FEW_SHOT, ZERO_SHOT, Plan
from mipro.optimize.propose import TIPS, UpfrontProposals, check_form, check_tips
from mipro.optimize.run.proposals import GroundingSources


class MIPRO(Optimizer):
    """Optimizes every predictor's instruction and demos for the whole program's ``metric``.

    Candidates: ``num_candidates`` bootstrapped demo sets and ``num_candidates`` instructions
    per predictor (its own plus proposals grounded in a dataset summary, a program summary,
    demos and a random tip from ``tips``; switch sources off with ``grounding``). Proposals
    that are generic, near-duplicates or drop a constraint of the seed instruction are
    rejected; ``proposal_form`` ("auto", "instruction", "guidance", "fill_in") says whether
    the proposer writes whole instructions, one sentence of guidance added to the seed
    instruction (for tiny proposer models), the choices that fill in a fixed sentence added to
    it (every candidate usable), or guidance only when an instruction was rejected and a
    fill-in only when the guidance was rejected too. Credit: a
    TPE surrogate over every predictor's choices learned from minibatch scores
    (``credit_assignment="greedy"``: coordinate ascent). ``zero_shot=True`` is 0-shot MIPRO:
    instructions only; the final program keeps the demos it came with, and bootstrapped demos
    only ground the proposer. Other keyword arguments are those of ``Optimizer``.
    """

    def __init__(
        self,
        metric: Metric,
        *,
        zero_shot: bool = False,
        grounding: GroundingSources = GroundingSources(),
        tips: Sequence[str] = tuple(TIPS),
        proposal_form: str = "auto",
        credit_assignment: str = "bayesian",
        **options: Any,
    ) -> None:
        plan = Plan(
            demo_sets=ZERO_SHOT if zero_shot else FEW_SHOT,
            grounding=grounding,
            proposals=UpfrontProposals(tips=check_tips(tips), form=check_form(proposal_form)),
            search=credit_strategy(credit_assignment),
        )
        super().__init__(metric, plan=plan, **options)
