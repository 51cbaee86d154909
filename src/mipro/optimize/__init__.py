"""Optimizers: MIPRO and the stages it is built from."""

from mipro.optimize.mipro import MIPRO
from mipro.optimize.propose import ProposalSettings
from mipro.optimize.records import OptimizationResult

__all__ = ["MIPRO", "OptimizationResult", "ProposalSettings"]
