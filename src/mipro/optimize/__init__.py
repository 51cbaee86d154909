"""Optimizers: MIPRO, the paper's family of optimizers, and the stages they are built from."""

from mipro.optimize.family import OPTIMIZERS
from mipro.optimize.family.bootstrap_search import BayesianBootstrap, BootstrapRandomSearch
from mipro.optimize.family.mipro import MIPRO
from mipro.optimize.family.mipro_plus_plus import MIPROPlusPlus
from mipro.optimize.family.opro import ModuleOPRO
from mipro.optimize.loaded import LoadedRun, load_run
from mipro.optimize.optimizer import Optimizer
from mipro.optimize.plan import Plan
from mipro.optimize.run.callbacks import Callback, FullEvaluationEnd, TrialEnd
from mipro.optimize.run.proposals import GroundingSources, ProposalSettings
from mipro.optimize.run.records import OptimizationResult

__all__ = [
    "BayesianBootstrap",
    "BootstrapRandomSearch",
    "Callback",
    "FullEvaluationEnd",
    "GroundingSources",
    "LoadedRun",
    "MIPRO",
    "MIPROPlusPlus",
    "ModuleOPRO",
    "OPTIMIZERS",
    "OptimizationResult",
    "Optimizer",
    "Plan",
    "ProposalSettings",
    "TrialEnd",
    "load_run",
]
