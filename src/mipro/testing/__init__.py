"""Test doubles that implement the LM protocol: for unit tests of logic, never for acceptance."""

from mipro.testing.scripted import ScriptedLM
from mipro.testing.simulated import SimulatedLM, SimulatedProgram, exact_answer, make_examples

__all__ = ["ScriptedLM", "SimulatedLM", "SimulatedProgram", "exact_answer", "make_examples"]
