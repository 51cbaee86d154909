"""Optimizers: MIPRO, the paper's family of optimizers, and the stages they are built from."""

from mipro.optimize.demos_only import BayesianBootstrap, BootstrapRandomSearch
from mipro.optimize.engine import Optimizer
from mipro.optimize.mipro import MIPRO
from mipro.optimize.mipro_plus_plus import MIPROPlusPlus
from mipro.optimize.opro import ModuleOPRO
from mipro.optimize.propose import ProposalSettings
from mipro.optimize.records import OptimizationResult
from mipro.optimize.registry import OPTIMIZERS

__all__ = [
    "BayesianBootstrap",
    "BootstrapRandomSearch",
    "MIPRO",
    "MIPROPlusPlus",
    "ModuleOPRO",
    "OPTIMIZERS",
    "OptimizationResult",
    "Optimizer",
    "ProposalSettings",
]
