"""Grounding: what a proposer may be shown about the task, for one predictor."""

from __future__ import annotations

from dataclasses import dataclass

from mipro.optimize.run.candidates import DemoSet


@dataclass(frozen=True, kw_only=True)
class ScoredInstruction:
    """An instruction candidate with the whole-program score it got."""

    index: int
    text: str
    score: float


@dataclass(frozen=True, kw_only=True)
class Grounding:
    """What the proposer may be shown for one predictor."""

    dataset_summary: str
    program_summary: str
    """Summaries of the training data and of the program's source (empty when off)."""
    role: str
    """What this predictor does within the program."""
    demo_sets: tuple[DemoSet, ...] = ()
    history: tuple[ScoredInstruction, ...] = ()
    """Earlier instructions, worst first (for history-based proposals)."""
