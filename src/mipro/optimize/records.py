"""Typed records of an optimizer run: candidates, trials, full evaluations, the result."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

Demo = dict[str, Any]
DemoSet = list[Demo]
Configuration = dict[str, int]
"""Parameter name (``<predictor>.instruction`` / ``<predictor>.demos``) -> candidate index."""


def instruction_param(predictor: str) -> str:
    return f"{predictor}.instruction"


def demos_param(predictor: str) -> str:
    return f"{predictor}.demos"


def describe_configuration(configuration: Configuration) -> str:
    """``hint: i1 d3 | answer: i4 d0`` (instruction and demo-set indices per predictor)."""
    parts: dict[str, list[str]] = {}
    for param, index in configuration.items():
        predictor, _, kind = param.rpartition(".")
        parts.setdefault(predictor, []).append(f"{kind[0]}{index}")
    return " | ".join(f"{name}: {' '.join(codes)}" for name, codes in parts.items())


def configuration_key(configuration: Configuration) -> str:
    """A stable text key of a configuration."""
    return json.dumps(dict(sorted(configuration.items())))


@dataclass(frozen=True)
class Grounding:
    """What the proposer may be shown for one predictor."""

    dataset_summary: str
    program_summary: str
    module_role: str
    demo_sets: Sequence[DemoSet]
    history: Sequence[tuple[str, float]] = ()
    """Earlier instructions with the whole-program scores they got (for history-based proposals)."""


@dataclass
class PredictorCandidates:
    """The instruction candidates and demo-set candidates of one predictor.

    Index 0 of each list is the program as given (its own instruction and demos).
    ``proposal_settings[i]`` records how instruction ``i`` was proposed (empty for index 0).
    """

    instructions: list[str]
    demo_sets: list[DemoSet]
    proposal_settings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Candidates:
    """Every predictor's candidates: what the search chooses from."""

    predictors: dict[str, PredictorCandidates]

    def to_json(self) -> str:
        return json.dumps({name: asdict(c) for name, c in self.predictors.items()})

    @classmethod
    def from_json(cls, text: str) -> Candidates:
        return cls({name: PredictorCandidates(**data) for name, data in json.loads(text).items()})

    def baseline(self) -> Configuration:
        """The configuration of the program as given."""
        config: Configuration = {}
        for name in self.predictors:
            config[instruction_param(name)] = 0
            config[demos_param(name)] = 0
        return config


@dataclass(frozen=True)
class TrialRecord:
    """One minibatch trial of the search."""

    number: int
    configuration: Configuration
    minibatch_ids: tuple[int, ...]
    minibatch_score: float


@dataclass(frozen=True)
class FullEvaluation:
    """A configuration scored on the whole validation set."""

    configuration: Configuration
    score: float
    after_trial: int
    num_failed: int = 0


@dataclass(frozen=True)
class OptimizationResult:
    """What an optimizer run found and what it spent."""

    best_configuration: Configuration
    best_score: float
    baseline_score: float
    trials: tuple[TrialRecord, ...]
    full_evaluations: tuple[FullEvaluation, ...]
    usage: dict[str, dict[str, Any]]
    candidates: Candidates | None = None
    stopped_by_budget: bool = False
    skipped_proposals: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
