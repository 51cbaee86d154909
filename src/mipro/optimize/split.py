"""Stage 0: check the data, and split off a validation set when none is given.

Every row is checked before any LM call: it is an ``Example`` with its inputs marked, its
inputs are the ones the program's ``forward`` takes (for a bare predictor: its signature's),
and it carries every label the program outputs that other rows carry. A bad row is an error
naming the row and the field. Validation examples that also appear in the trainset (same
inputs) are counted in a warning: their scores overstate how the program does on new data.

Without a valset, the trainset is shuffled with the run's seed and cut in half: the first half
to bootstrap demos from, the second to score configurations on (``DataSplit.note`` says so).
"""

from __future__ import annotations

import inspect
import random
import warnings
from collections.abc import Sequence
from typing import NamedTuple

from mipro.errors import ConfigurationError
from mipro.optimize.run.seeds import sub_seed
from mipro.program import Example, Module
from mipro.program.predict import REASONING


class DataSplit(NamedTuple):
    """The examples a run bootstraps from and validates on, and what was done to get them."""

    trainset: list[Example]
    valset: list[Example]
    note: str | None = None
    """A sentence on how the data was split or sampled, for the run's output (``None``: used
    as given)."""


def split_data(program: Module, trainset: Sequence[Example], valset: Sequence[Example] | None,
               *, seed: int, max_valset: int | None) -> DataSplit:
    """The checked (trainset, valset). Without a valset, half of the shuffled trainset is held
    out; a valset larger than ``max_valset`` is sampled down (both seeded)."""
    if not trainset:
        raise ConfigurationError("trainset is empty: the optimizer needs training examples")
    if valset is not None and not valset:
        raise ConfigurationError(
            "valset is empty: pass validation examples, or valset=None to hold out half of the "
            "trainset")
    check_rows(program, {"trainset": trainset, "valset": valset or []})
    train = list(trainset)
    notes = []
    if valset is None:
        shuffled = train[:]
        random.Random(sub_seed(seed, "split", "holdout")).shuffle(shuffled)
        cut = max(1, len(shuffled) // 2)
        train, valset = shuffled[:cut], shuffled[cut:] or shuffled[:cut]
        notes.append(f"No valset given: the {len(shuffled)} training examples were shuffled "
                     f"(seed {seed}) and split into {len(train)} to bootstrap demos from and "
                     f"{len(valset)} to validate on; pass a valset to choose them.")
    else:
        _warn_overlap(train, valset)
    val = list(valset)
    if max_valset is not None and len(val) > max_valset:
        notes.append(f"The valset was sampled down from {len(val)} to {max_valset} examples "
                     f"(seed {seed}).")
        val = random.Random(sub_seed(seed, "split", "valset")).sample(val, max_valset)
    return DataSplit(train, val, " ".join(notes) or None)


def check_rows(program: Module, datasets: dict[str, Sequence[Example]]) -> None:
    """Raise a ``ConfigurationError`` naming the first row (``<dataset>[<index>]``) that is no
    ``Example`` with inputs, lacks an input the program needs or marks one it does not take,
    or lacks a label the program outputs that another row carries."""
    required, accepted, owner = program_inputs(program)
    rows = [(f"{name}[{index}]", example) for name, examples in datasets.items()
            for index, example in enumerate(examples)]
    for where, example in rows:
        if not isinstance(example, Example) or not example.input_keys:
            raise ConfigurationError(
                f"{where} is not an Example with inputs marked; build rows as "
                "Example(question=..., answer=...).with_inputs('question')")
        _check_inputs(where, example, required, accepted, owner)
    labels = {name for _, example in rows for name in example.labels()}
    for field in sorted(labels & _output_names(program)):
        for where, example in rows:
            if field not in example:
                raise ConfigurationError(
                    f"{where}{_row_id(example)} has no {field!r}, a label that other rows carry "
                    f"and the program outputs; its fields are {sorted(example)}. Fill it in or "
                    "drop the row.")


def program_inputs(program: Module) -> tuple[set[str], set[str] | None, str]:
    """The input names ``program`` needs, those it accepts (``None``: any) and whose they are."""
    if program.is_predictor:
        names = set(program.signature.input_names)  # type: ignore[attr-defined]
        return names, None, f"{type(program).__name__}('{program.signature}')"  # type: ignore[attr-defined]
    parameters = inspect.signature(program.forward).parameters.values()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    required = {p.name for p in parameters if p.kind in named and p.default is p.empty}
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    accepted = None if open_ended else {p.name for p in parameters if p.kind in named}
    return required, accepted, f"{type(program).__name__}.forward"


def _check_inputs(where: str, example: Example, required: set[str], accepted: set[str] | None,
                  owner: str) -> None:
    inputs = set(example.input_keys)
    missing = sorted(required - inputs)
    if missing:
        lacks = (f"does not mark {missing[0]!r} as an input" if missing[0] in example
                 else f"has no input {missing[0]!r}")
        raise ConfigurationError(
            f"{where}{_row_id(example)} {lacks}, which {owner} needs; its inputs are "
            f"{sorted(inputs)}. Build the row with .with_inputs("
            f"{', '.join(repr(n) for n in sorted(required))}).")
    extra = sorted(inputs - accepted) if accepted is not None else []
    if extra:
        raise ConfigurationError(
            f"{where}{_row_id(example)} marks {extra[0]!r} as an input, but {owner} takes only "
            f"{sorted(accepted or ())}; mark it as a label or add it to forward().")


def _output_names(program: Module) -> set[str]:
    return {name for predictor in program.predictors()
            for name in predictor.signature.output_names if name != REASONING.name}


def _row_id(example: Example) -> str:
    return f" (id {example['id']!r})" if "id" in example else ""


def _warn_overlap(trainset: Sequence[Example], valset: Sequence[Example]) -> None:
    seen = {_inputs_key(example) for example in trainset}
    overlap = sum(_inputs_key(example) in seen for example in valset)
    if overlap:
        warnings.warn(
            f"{overlap} of the {len(valset)} validation examples also appear in the trainset "
            "(same inputs): demos may be bootstrapped from the examples that choose among "
            "configurations, so validation scores overstate how the program does on new data. "
            "Pass disjoint sets.", UserWarning, stacklevel=4)


def _inputs_key(example: Example) -> str:
    return repr(sorted((key, repr(example[key])) for key in example.input_keys))
