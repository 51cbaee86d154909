"""What a search chooses from: every predictor's candidates, and configurations of them.

A *candidate* is one option for one predictor: an instruction or a demo set. A
*configuration* picks one candidate index per parameter (``<predictor>.instruction``,
``<predictor>.demos``); building it gives a variant of the program. Candidates are frozen: a
search that proposes new instructions makes new ``Candidates`` (``with_instruction``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from mipro.optimize.run.proposals import ProposalRecord
from mipro.program import Example, Module

Demo = Mapping[str, Any]
"""One demo: field name -> value, as plain JSON."""
DemoSet = tuple[Demo, ...]
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


@dataclass(frozen=True, kw_only=True)
class PredictorCandidates:
    """The instruction candidates and demo-set candidates of one predictor.

    Index 0 of each is the program as given (its own instruction and demos).
    ``proposals[i]`` records how instruction ``i`` was proposed (``None`` for index 0).
    """

    instructions: tuple[str, ...]
    demo_sets: tuple[DemoSet, ...]
    proposals: tuple[ProposalRecord | None, ...]


@dataclass(frozen=True, kw_only=True)
class Candidates:
    """Every predictor's candidates: what the search chooses from."""

    predictors: Mapping[str, PredictorCandidates]

    def baseline(self) -> Configuration:
        """The configuration of the program as given."""
        config: Configuration = {}
        for name in self.predictors:
            config[instruction_param(name)] = 0
            config[demos_param(name)] = 0
        return config

    def with_instruction(self, predictor: str, text: str,
                         proposal: ProposalRecord) -> tuple[Candidates, int]:
        """These candidates with ``text`` added to ``predictor``'s instructions (unless it is
        there already), and its index."""
        options = self.predictors[predictor]
        if text in options.instructions:
            return self, options.instructions.index(text)
        grown = replace(options, instructions=(*options.instructions, text),
                        proposals=(*options.proposals, proposal))
        return Candidates(predictors={**self.predictors, predictor: grown}), len(options.instructions)

    def demo_set_overlap(self) -> float | None:
        """How much the demo sets overlap: per predictor, the mean over pairs of its non-empty
        sets of ``|A & B| / min(|A|, |B|)`` (demos compared by content); then the mean over
        predictors (``None``: no predictor has two non-empty sets)."""
        per_predictor = []
        for options in self.predictors.values():
            keyed = [{json.dumps(demo, sort_keys=True, default=str) for demo in demos}
                     for demos in options.demo_sets if demos]
            pairs = list(itertools.combinations(keyed, 2))
            if pairs:
                per_predictor.append(sum(len(a & b) / min(len(a), len(b)) for a, b in pairs)
                                     / len(pairs))
        return sum(per_predictor) / len(per_predictor) if per_predictor else None

    def as_dict(self) -> dict[str, Any]:
        """``{predictor: {"instructions": [...], "demo_sets": [...], "proposals": [...]}}`` as
        plain JSON (lists, not tuples)."""
        return json.loads(self.to_json())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidates:
        """The inverse of ``as_dict``."""
        return cls(predictors={
            name: PredictorCandidates(
                instructions=tuple(entry["instructions"]),
                demo_sets=tuple(tuple(demo_set) for demo_set in entry["demo_sets"]),
                proposals=tuple(ProposalRecord(**p) if p else None for p in entry["proposals"]),
            )
            for name, entry in data.items()
        })

    def to_json(self) -> str:
        return json.dumps({name: asdict(c) for name, c in self.predictors.items()})

    @classmethod
    def from_json(cls, text: str) -> Candidates:
        return cls.from_dict(json.loads(text))


def fixed_instructions(program: Module, demo_sets: Mapping[str, Sequence[DemoSet]]) -> Candidates:
    """Candidates that keep every predictor's own instruction and choose among ``demo_sets``."""
    return Candidates(predictors={
        name: PredictorCandidates(instructions=(predictor.signature.instructions,),
                                  demo_sets=tuple(demo_sets[name]), proposals=(None,))
        for name, predictor in program.named_predictors()
    })


def build_program(program: Module, candidates: Candidates, configuration: Configuration) -> Module:
    """A copy of ``program`` with the chosen instruction and demo set on every predictor."""
    built = program.deepcopy()
    for name, predictor in built.named_predictors():
        options = candidates.predictors[name]
        instruction = options.instructions[configuration.get(instruction_param(name), 0)]
        predictor.signature = predictor.signature.with_instructions(instruction)
        predictor.demos = [Example(d) for d in options.demo_sets[configuration.get(demos_param(name), 0)]]
    return built
