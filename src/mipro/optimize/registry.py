"""The optimizer family by name, for harnesses that compare them at equal budget."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from mipro.optimize.demos_only import BayesianBootstrap, BootstrapRandomSearch
from mipro.optimize.engine import Optimizer
from mipro.optimize.mipro import MIPRO
from mipro.optimize.mipro_plus_plus import MIPROPlusPlus
from mipro.optimize.opro import ModuleOPRO

OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "mipro": MIPRO,
    "mipro_0shot": partial(MIPRO, zero_shot=True),
    "mipro++": MIPROPlusPlus,
    "mipro++_0shot": partial(MIPROPlusPlus, zero_shot=True),
    "bootstrap_random_search": BootstrapRandomSearch,
    "bayesian_bootstrap": BayesianBootstrap,
    "opro": partial(ModuleOPRO, grounded=False),
    "opro_grounded": partial(ModuleOPRO, grounded=True),
}
"""``OPTIMIZERS[name](metric, task_lm=..., seed=..., max_lm_calls=..., ...)``: every factory takes
``Optimizer``'s keyword arguments."""
