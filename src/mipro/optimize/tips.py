"""The tips MIPRO draws from when proposing an instruction (as in the paper)."""

from __future__ import annotations

from collections.abc import Sequence

from mipro.errors import ConfigurationError

TIPS: dict[str, str] = {
    "none": "",
    "creative": "Don't be afraid to be creative when creating the new instruction!",
    "simple": "Keep the instruction clear and concise.",
    "description": "Make sure your instruction is very informative and descriptive.",
    "high_stakes": "The instruction should include a high stakes scenario in which the LM must "
                   "solve the task!",
    "persona": "Include a persona that is relevant to the task in the instruction (ie. "
               "\"You are a ...\")",
}


def check_tips(tips: Sequence[str]) -> tuple[str, ...]:
    """``tips`` as a tuple, after checking that it is a non-empty subset of ``TIPS``."""
    unknown = sorted(set(tips) - set(TIPS))
    if unknown or not tips:
        raise ConfigurationError(f"tips must be a non-empty subset of {sorted(TIPS)}, got {list(tips)}")
    return tuple(tips)
