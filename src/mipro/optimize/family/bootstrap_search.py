"""The demo-only optimizers: bootstrapped demo sets are searched, instructions never change.

Beside MIPRO (``mipro.py``) they skip grounding and proposals; they differ from each other in
the search: bootstrap random search scores whole demo sets on all the search's validation
examples, Bayesian bootstrap chooses each predictor's demo set with MIPRO's TPE surrogate.
"""

from __future__ import annotations

from typing import Any

from mipro.evaluate import Metric
from mipro.optimize.credit import credit_assignment as credit_strategy
from mipro.optimize.credit.sweep import DemoSetSweep
from mipro.optimize.optimizer import Optimizer
from mipro.optimize.plan import FEW_SHOT, Plan
from mipro.optimize.run.proposals import NO_GROUNDING


class BootstrapRandomSearch(Optimizer):
    """Bootstrap random search: candidate ``k`` gives every predictor demo set ``k`` (sets are
    bootstrapped from the same examples, so they fit together) and is scored on all the
    search's validation examples; selection checks the best on the held-out ones. Candidate 0
    is the program as given, so there are ``num_candidates - 1`` trials (``num_trials`` is not
    used). Instructions never change.
    """

    def __init__(self, metric: Metric, **options: Any) -> None:
        plan = Plan(demo_sets=FEW_SHOT, grounding=NO_GROUNDING, proposals=None,
                    search=DemoSetSweep())
        super().__init__(metric, plan=plan, **options)


class BayesianBootstrap(Optimizer):
    """``num_candidates`` bootstrapped demo sets per predictor, searched with a TPE surrogate over
    minibatches as in MIPRO (``credit_assignment="greedy"``: coordinate ascent); every
    predictor keeps its own instruction. Keyword arguments are those of ``Optimizer``.
    """

    def __init__(self, metric: Metric, *, credit_assignment: str = "bayesian",
                 **options: Any) -> None:
        plan = Plan(demo_sets=FEW_SHOT, grounding=NO_GROUNDING, proposals=None,
                    search=credit_strategy(credit_assignment))
        super().__init__(metric, plan=plan, **options)
