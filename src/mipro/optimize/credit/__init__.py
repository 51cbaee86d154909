"""Credit assignment: how a search chooses configurations and credits their scores.

``bayesian.py`` (MIPRO's TPE surrogate), ``greedy.py`` (coordinate ascent), ``sweep.py``
(bootstrap random search), and ``online.py`` with its two proposal policies (``history.py``
for module-level OPRO, ``learned.py`` for MIPRO++).
"""

from __future__ import annotations

from mipro.errors import ConfigurationError
from mipro.optimize.credit.bayesian import BayesianCredit
from mipro.optimize.credit.greedy import GreedyCredit
from mipro.optimize.search import SearchStrategy

CREDIT_ASSIGNMENTS: dict[str, type[SearchStrategy]] = {"bayesian": BayesianCredit, "greedy": GreedyCredit}
"""Credit assignment over fixed candidates: a TPE surrogate (MIPRO's), or coordinate ascent."""


def credit_assignment(name: str) -> SearchStrategy:
    """The search strategy ``credit_assignment=name`` asks for."""
    if name not in CREDIT_ASSIGNMENTS:
        raise ConfigurationError(
            f"credit_assignment must be one of {sorted(CREDIT_ASSIGNMENTS)}, got {name!r}")
    return CREDIT_ASSIGNMENTS[name]()
