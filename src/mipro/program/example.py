"""Examples (data records) and predictions (what a program returns)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class Record(Mapping[str, Any]):
    """A read-only record of named fields, readable as ``record.name`` or ``record["name"]``."""

    def __init__(self, fields: Mapping[str, Any] | None = None, **more: Any) -> None:
        object.__setattr__(self, "_fields", {**(fields or {}), **more})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r}; fields: {sorted(self._fields)}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; build a new one instead")

    def __getitem__(self, name: str) -> Any:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"{type(self).__name__}({body})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and dict(self) == dict(other)  # type: ignore[arg-type]

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._fields.items())))

    def to_dict(self) -> dict[str, Any]:
        return dict(self._fields)


class Example(Record):
    """A data record; ``with_inputs`` marks which fields the program receives."""

    def __init__(
        self,
        fields: Mapping[str, Any] | None = None,
        *,
        input_keys: tuple[str, ...] = (),
        **more: Any,
    ) -> None:
        super().__init__(fields, **more)
        missing = [key for key in input_keys if key not in self._fields]
        if missing:
            raise KeyError(f"input fields {missing} are not in the example {sorted(self._fields)}")
        object.__setattr__(self, "input_keys", tuple(input_keys))

    def with_inputs(self, *keys: str) -> Example:
        """A copy whose inputs are ``keys``; the other fields are labels."""
        return Example(self._fields, input_keys=keys)

    def inputs(self) -> dict[str, Any]:
        """The input fields, ready to pass to a program as keyword arguments."""
        if not self.input_keys:
            raise ValueError(
                f"{self!r} has no inputs marked; call .with_inputs('question', ...) first"
            )
        return {key: self._fields[key] for key in self.input_keys}

    def labels(self) -> dict[str, Any]:
        return {k: v for k, v in self._fields.items() if k not in self.input_keys}

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.input_keys == other.input_keys  # type: ignore[attr-defined]

    __hash__ = Record.__hash__


class Prediction(Record):
    """The output fields a module returned."""
