"""Test doubles that implement the LM protocol: for unit tests of logic, and (the landscape) for
acceptance tests of optimizers.

``scripted`` and ``simulated`` are LMs; ``landscape`` is a simulated task in which grounding,
the interaction of two predictors, the rightness of demos and noise matter, with the exact
expected score of any program; ``stub_server`` is an OpenAI-compatible server on 127.0.0.1,
``served`` puts the simulated LM behind it with faults injected, and ``truth`` recomputes the
scores a simulated run stored.
"""

from mipro.testing.landscape import LandscapeLM
from mipro.testing.scripted import ScriptedLM
from mipro.testing.simulated import SimulatedLM, SimulatedProgram, exact_answer, make_examples

__all__ = ["LandscapeLM", "ScriptedLM", "SimulatedLM", "SimulatedProgram", "exact_answer", "make_examples"]
