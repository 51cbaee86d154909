"""Modules: programs are plain Python classes that compose predictors in ``forward()``."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic_core import to_jsonable_python

from mipro.errors import ConfigurationError
from mipro.program.example import Example, Prediction
from mipro.program.saved import read_saved_program, write_saved_program
from mipro.signatures import Signature
from mipro.signatures.serialize import signature_differences, signature_to_json

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
        """Every predictor's typed signature (with its instruction), demos and LM settings, as
        JSON-ready data."""
        return {
            name: {
                "signature": signature_to_json(predictor.signature),
                "demos": [to_jsonable_python(dict(demo)) for demo in predictor.demos],
                **{setting: getattr(predictor, setting)
                   for setting in ("temperature", "max_tokens") if hasattr(predictor, setting)},
            }
            for name, predictor in self.named_predictors()
        }

    def load_state(self, state: dict[str, Any], *, source: str = "state") -> None:
        """Set instructions and demos from ``dump_state`` output.

        The state must name the same predictors, with the same fields (names, types,
        descriptions, labels); only the instructions may differ. ``source`` names it in errors.
        """
        predictors = dict(self.named_predictors())
        if set(state) != set(predictors):
            raise ConfigurationError(
                f"{source}: saved predictors {sorted(state)} do not match "
                f"{type(self).__name__}'s {sorted(predictors)}"
            )
        for name, entry in state.items():
            differences = signature_differences(entry["signature"], predictors[name].signature)
            if differences:
                raise ConfigurationError(
                    f"{source}: the signature of predictor `{name}` differs from "
                    f"{type(self).__name__}'s: {'; '.join(differences)}"
                )
        for name, entry in state.items():
            predictor = predictors[name]
            predictor.signature = predictor.signature.with_instructions(
                entry["signature"]["instructions"])
            predictor.demos = [Example(demo) for demo in entry.get("demos", [])]

    def save(self, path: str | Path, *, run_name: str | None = None, lm: str | None = None,
             scores: Mapping[str, float] | None = None) -> None:
        """Write every predictor's typed signature, instruction and demos as readable JSON,
        with the mipro version, the date and, if given, the run name, the LM (default: the
        predictors' own, if they share one) and scores such as ``{"validation": 0.62}``."""
        write_saved_program(path, type(self).__name__, self.dump_state(), run_name=run_name,
                            lm=lm or self._own_lm_id(), scores=dict(scores or {}))

    def load(self: M, path: str | Path) -> M:
        """Load instructions and demos saved by ``save``; returns ``self``.

        Raises ``ConfigurationError`` naming the file when it is not a saved program of this
        format, or when its predictors or their fields differ from this program's.
        """
        self.load_state(read_saved_program(path).predictors, source=str(path))
        return self

    def _own_lm_id(self) -> str | None:
        ids = {getattr(p.lm, "model_id", None) for p in self.predictors() if p.lm is not None}
        return ids.pop() if len(ids) == 1 else None
