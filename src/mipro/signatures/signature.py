"""Signatures: the typed inputs and outputs of one LM call, plus its instruction.

Two forms::

    Signature.parse("context, question -> answer")
    Signature.parse("text -> label: Literal['positive', 'negative'], confidence: float")

    class QA(Signature):
        \"\"\"Answer the question from the context.\"\"\"
        context: str = InputField(desc="relevant passages")
        question: str = InputField()
        answer: str = OutputField(desc="a short phrase")

``ensure_signature`` turns either form into a ``Signature`` instance.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from mipro.errors import ConfigurationError
from mipro.signatures.fields import Field, FieldKind, FieldMarker, field_label

_TYPE_NAMES: dict[str, Any] = {
    "str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict,
    "Literal": Literal, "Any": Any, "Optional": typing.Optional,
    "List": list, "Dict": dict,
}


@dataclass(frozen=True)
class Signature:
    """The typed input and output fields of one LM call, and its instruction."""

    input_fields: tuple[Field, ...]
    output_fields: tuple[Field, ...]
    instructions: str = ""

    _class_signature: ClassVar[Signature | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._class_signature = _from_class(cls)

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.input_fields + self.output_fields

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.input_fields)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.output_fields)

    def with_instructions(self, instructions: str) -> Signature:
        """A copy with another instruction."""
        return dataclasses.replace(self, instructions=instructions)

    def prepend_output(self, field: Field) -> Signature:
        """A copy with ``field`` as the first output (how ChainOfThought adds reasoning)."""
        return dataclasses.replace(self, output_fields=(field, *self.output_fields))

    def __str__(self) -> str:
        return f"{', '.join(self.input_names)} -> {', '.join(self.output_names)}"

    @classmethod
    def parse(cls, text: str, instructions: str | None = None) -> Signature:
        """Parse ``"a, b: int -> c: Literal['x', 'y']"``."""
        if text.count("->") != 1:
            raise ConfigurationError(
                f"signature {text!r} must have exactly one '->' between inputs and outputs, "
                "e.g. 'context, question -> answer'"
            )
        left, right = text.split("->")
        inputs = _parse_side(left, "input", text)
        outputs = _parse_side(right, "output", text)
        if not outputs:
            raise ConfigurationError(f"signature {text!r} has no output field")
        names = [f.name for f in inputs + outputs]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"signature {text!r} repeats a field name")
        default = f"Given the fields {_names(inputs)}, produce the fields {_names(outputs)}."
        return cls(tuple(inputs), tuple(outputs), instructions or default)


def ensure_signature(spec: str | Signature | type[Signature]) -> Signature:
    """Normalize a string, a class-form signature or an instance to a ``Signature``."""
    if isinstance(spec, Signature):
        return spec
    if isinstance(spec, str):
        return Signature.parse(spec)
    if isinstance(spec, type) and issubclass(spec, Signature) and spec._class_signature:
        return spec._class_signature
    raise ConfigurationError(
        f"expected a signature string such as 'question -> answer' or a Signature subclass, got {spec!r}"
    )


def _names(fields: list[Field]) -> str:
    return ", ".join(f"`{f.name}`" for f in fields)


def _from_class(cls: type) -> Signature | None:
    annotations = typing.get_type_hints(cls, include_extras=False)
    fields: list[Field] = []
    for name, value in vars(cls).items():
        if isinstance(value, FieldMarker):
            fields.append(
                Field(name, value.kind, annotations.get(name, str), value.desc, value.prefix)
            )
    if not fields:
        return None
    inputs = tuple(f for f in fields if f.kind == "input")
    outputs = tuple(f for f in fields if f.kind == "output")
    if not outputs:
        raise ConfigurationError(f"signature class {cls.__name__} declares no OutputField")
    doc = (cls.__doc__ or "").strip()
    return Signature(inputs, outputs, doc or f"Given the fields {_names(list(inputs))}, "
                     f"produce the fields {_names(list(outputs))}.")


def _parse_side(side: str, kind: FieldKind, whole: str) -> list[Field]:
    fields = []
    for part in _split_top_level(side):
        name, _, type_text = part.partition(":")
        name = name.strip()
        if not name.isidentifier():
            raise ConfigurationError(f"signature {whole!r}: {name!r} is not a valid field name")
        annotation = _parse_type(type_text.strip(), whole) if type_text.strip() else str
        fields.append(Field(name, kind, annotation, prefix=field_label(name)))
    return fields


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[(" and 1 or 0
        depth -= char in "])" and 1 or 0
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _parse_type(text: str, whole: str) -> Any:
    try:
        return _evaluate_type(ast.parse(text, mode="eval").body)
    except (SyntaxError, KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(
            f"signature {whole!r}: cannot read the type {text!r} ({error}); supported: "
            "str, int, float, bool, Literal[...], list[...], dict[...]"
        ) from None


def _evaluate_type(node: ast.expr) -> Any:
    if isinstance(node, ast.Name):
        return _TYPE_NAMES[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate_type(element) for element in node.elts)
    if isinstance(node, ast.Subscript):
        base = _evaluate_type(node.value)
        argument = _evaluate_type(node.slice)
        return base[argument]
    raise ValueError(f"unsupported syntax {ast.dump(node)}")
