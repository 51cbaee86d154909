"""What a study shows to a person (e.g. in optuna-dashboard): each trial's instruction text and
demo summary per predictor, its full-evaluation score, and the winner.

Optuna's own parameters are candidate indices (``classify.instruction: 1``); these user
attributes say what the indices stand for, as plain strings, so a study is readable without
mipro.
"""

from __future__ import annotations

from typing import Any

from mipro.optimize.run.candidates import Candidates, Configuration, demos_param, instruction_param

METRIC_NAME = "minibatch score"
"""The name of the objective: a trial's value is its score on one minibatch."""
FULL_SCORE = "full score"
"""Trial attribute: the full-validation score of the trial's configuration, once it has one."""
WINNER = "winner"
"""Study attribute (the winning configuration and score) and trial attribute (``True``)."""

_DEMO_PREVIEW = 60


def instruction_attr(predictor: str) -> str:
    return f"{predictor}: instruction"


def demos_attr(predictor: str) -> str:
    return f"{predictor}: demos"


def trial_attributes(candidates: Candidates, configuration: Configuration) -> dict[str, str]:
    """``{"<predictor>: instruction": text, "<predictor>: demos": summary}`` per predictor."""
    attributes: dict[str, str] = {}
    for name, options in candidates.predictors.items():
        instruction = configuration.get(instruction_param(name), 0)
        demos = configuration.get(demos_param(name), 0)
        if instruction < len(options.instructions):
            attributes[instruction_attr(name)] = options.instructions[instruction]
        if demos < len(options.demo_sets):
            attributes[demos_attr(name)] = summarize_demos(demos, options.demo_sets[demos])
    return attributes


def summarize_demos(index: int, demo_set: Any) -> str:
    """``set 2: 3 demos: question=q12 answer=a12 | ...`` (each demo shortened)."""
    demos = [" ".join(f"{k}={v}" for k, v in demo.items())[:_DEMO_PREVIEW] for demo in demo_set]
    return f"set {index}: {len(demos)} demos" + (": " + " | ".join(demos) if demos else "")
