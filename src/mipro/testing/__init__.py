"""Test doubles that implement the LM protocol: for unit tests of logic, never for acceptance.

``scripted`` and ``simulated`` are LMs; ``stub_server`` is an OpenAI-compatible server on
127.0.0.1, ``served`` puts the simulated LM behind it with faults injected, and ``truth``
recomputes the scores a simulated run stored.
"""

from mipro.testing.scripted import ScriptedLM
from mipro.testing.simulated import SimulatedLM, SimulatedProgram, exact_answer, make_examples

__all__ = ["ScriptedLM", "SimulatedLM", "SimulatedProgram", "exact_answer", "make_examples"]
