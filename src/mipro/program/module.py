"""Modules: programs are plain Python classes that compose predictors in ``forward()``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic_core import to_jsonable_python

from mipro.errors import ConfigurationError
from mipro.program.example import Example, Prediction
from mipro.signatures import Signature

M = TypeVar("M", bound="Module")


class Predictor(Protocol):
    """What optimizers read and set on a predictor (``Predict`` and its subclasses)."""

    signature: Signature
    demos: list[Mapping[str, Any]]
    lm: Any
    name: str | None


class Module:
    """Base class of every program. Subclasses set predictors as attributes and define ``forward``."""

    #: True for the optimizable LM calls (``Predict``), found by ``named_predictors``.
    is_predictor: ClassVar[bool] = False

    def __call__(self, **inputs: Any) -> Prediction:
        return self.forward(**inputs)

    def forward(self, **inputs: Any) -> Prediction:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def named_predictors(self) -> list[tuple[str, Predictor]]:
        """Every predictor in this program with its attribute path, in definition order."""
        found: list[tuple[str, Predictor]] = []
        seen: set[int] = set()

        def visit(name: str, value: Any) -> None:
            if id(value) in seen:
                return
            if isinstance(value, Module) and value.is_predictor:
                seen.add(id(value))
                found.append((name, value))  # type: ignore[arg-type]
            elif isinstance(value, Module):
                seen.add(id(value))
                for key, child in vars(value).items():
                    visit(f"{name}.{key}" if name else key, child)
            elif isinstance(value, (list, tuple)):
                for index, child in enumerate(value):
                    visit(f"{name}[{index}]", child)
            elif isinstance(value, dict):
                for key, child in value.items():
                    visit(f"{name}[{key!r}]", child)

        if self.is_predictor:
            return [("self", self)]  # type: ignore[list-item]
        visit("", self)
        for name, predictor in found:
            predictor.name = predictor.name or name
        return found

    def predictors(self) -> list[Predictor]:
        return [predictor for _, predictor in self.named_predictors()]

    def deepcopy(self: M) -> M:
        """An independent copy; LMs and retrieval indexes are shared, not copied."""
        return copy.deepcopy(self)

    def dump_state(self) -> dict[str, Any]:
        """Every predictor's instruction and demos, as JSON-ready data."""
        return {
            name: {
                "signature": str(predictor.signature),
                "instructions": predictor.signature.instructions,
                "demos": [to_jsonable_python(dict(demo)) for demo in predictor.demos],
            }
            for name, predictor in self.named_predictors()
        }

    def load_state(self, state: dict[str, Any], *, source: str = "state") -> None:
        """Set instructions and demos from ``dump_state`` output."""
        predictors = dict(self.named_predictors())
        unknown = sorted(set(state) - set(predictors))
        if unknown:
            raise ConfigurationError(
                f"{source}: predictors {unknown} are not in {type(self).__name__} "
                f"(it has {sorted(predictors)})"
            )
        for name, entry in state.items():
            predictor = predictors[name]
            predictor.signature = predictor.signature.with_instructions(entry["instructions"])
            predictor.demos = [Example(demo) for demo in entry.get("demos", [])]

    def save(self, path: str | Path) -> None:
        """Write every predictor's instruction and demos as readable JSON."""
        Path(path).write_text(json.dumps(self.dump_state(), indent=2, ensure_ascii=False) + "\n")

    def load(self: M, path: str | Path) -> M:
        """Load instructions and demos saved by ``save``; returns ``self``."""
        try:
            state = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{path}: not valid JSON ({error})") from None
        self.load_state(state, source=str(path))
        return self
