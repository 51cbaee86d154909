"""The paper's optimizer family; each member is an ``Optimizer`` with its own ``Plan``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from mipro.optimize.family.bootstrap_search import BayesianBootstrap, BootstrapRandomSearch
from mipro.optimize.family.mipro import MIPRO
from mipro.optimize.family.mipro_plus_plus import MIPROPlusPlus
from mipro.optimize.family.opro import ModuleOPRO
from mipro.optimize.optimizer import Optimizer

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

__all__ = ["OPTIMIZERS", "BayesianBootstrap", "BootstrapRandomSearch", "MIPRO", "MIPROPlusPlus",
           "ModuleOPRO"]
