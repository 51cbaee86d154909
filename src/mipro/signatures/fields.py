"""Input and output fields of a signature."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from mipro.errors import ConfigurationError
from mipro.signatures.types import check_annotation

FieldKind = Literal["input", "output"]


@dataclass(frozen=True)
class Field:
    """One named, typed field of a signature."""

    name: str
    kind: FieldKind
    annotation: Any = str
    desc: str = ""
    prefix: str = ""

    def __post_init__(self) -> None:
        try:
            check_annotation(self.annotation)
        except ValueError as error:
            raise ConfigurationError(f"field `{self.name}`: {error}") from None

    @property
    def label(self) -> str:
        """The marker shown in prompts and replies, e.g. ``Search Query``."""
        return self.prefix or field_label(self.name)


@dataclass(frozen=True)
class FieldMarker:
    """What ``InputField()`` / ``OutputField()`` return in a class-form signature."""

    kind: FieldKind
    desc: str = ""
    prefix: str = ""


def InputField(*, desc: str = "", prefix: str = "") -> Any:  # noqa: N802 - mirrors dataclasses.field
    """Declare an input field in a class-form signature."""
    return FieldMarker("input", desc, prefix)


def OutputField(*, desc: str = "", prefix: str = "") -> Any:  # noqa: N802
    """Declare an output field in a class-form signature."""
    return FieldMarker("output", desc, prefix)


def field_label(name: str) -> str:
    """``search_query`` -> ``Search Query``; ``HTTPCode`` -> ``HTTP Code``."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").split()
    return " ".join(word[:1].upper() + word[1:] for word in words)
