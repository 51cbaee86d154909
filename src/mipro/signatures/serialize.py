"""Signatures as JSON data: every field's name, type (with ``Literal`` values), description and
label, and the instruction. Saved programs and exports store signatures in this form.

``signature_to_json`` writes it, ``signature_from_json`` rebuilds a ``Signature`` that prompts
exactly like the original, and ``signature_differences`` says how a saved signature differs from
a program's (every difference but the instruction, which is what an optimizer changes).
"""

from __future__ import annotations

from typing import Any, get_args

import pydantic

from mipro.errors import ConfigurationError
from mipro.signatures.fields import Field, FieldKind
from mipro.signatures.signature import Signature, _parse_type
from mipro.signatures.types import is_literal, json_schema, type_name


def signature_to_json(signature: Signature) -> dict[str, Any]:
    """``{"instructions": ..., "inputs": [field, ...], "outputs": [field, ...]}``."""
    return {
        "instructions": signature.instructions,
        "inputs": [_field_to_json(field) for field in signature.input_fields],
        "outputs": [_field_to_json(field) for field in signature.output_fields],
    }


def signature_from_json(data: dict[str, Any], *, source: str) -> Signature:
    """The signature ``signature_to_json`` wrote; ``source`` names the data in errors.

    A type that cannot be rebuilt from its name (a pydantic model defined in the program's code)
    becomes a stand-in model of the same name: prompts show only that name.
    """
    try:
        inputs = tuple(_field_from_json(entry, "input") for entry in data["inputs"])
        outputs = tuple(_field_from_json(entry, "output") for entry in data["outputs"])
        return Signature(inputs, outputs, str(data["instructions"]))
    except (KeyError, TypeError) as error:
        raise ConfigurationError(
            f"{source}: the signature is incomplete or malformed ({type(error).__name__}: {error}); "
            "it needs `instructions`, `inputs` and `outputs` with a `name` and `type` per field"
        ) from None


def signature_differences(saved: dict[str, Any], current: Signature) -> list[str]:
    """How the fields of a saved signature differ from ``current``'s (empty if they match)."""
    now = signature_to_json(current)
    differences: list[str] = []
    for side in ("inputs", "outputs"):
        saved_names = [entry.get("name") for entry in saved.get(side, [])]
        current_names = [entry["name"] for entry in now[side]]
        if saved_names != current_names:
            differences.append(f"{side}: saved {saved_names}, the program has {current_names}")
            continue
        for old, new in zip(saved[side], now[side]):
            for key in ("type", "json_schema", "desc", "prefix"):
                if old.get(key) != new.get(key):
                    differences.append(f"{side[:-1]} `{new['name']}` {_KEY_NAMES[key]}: saved "
                                       f"{old.get(key)!r}, the program has {new.get(key)!r}")
    return differences


_KEY_NAMES = {"type": "type", "json_schema": "JSON schema", "desc": "description",
              "prefix": "label"}


def _field_to_json(field: Field) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": field.name, "type": type_name(field.annotation),
                             "desc": field.desc, "prefix": field.label}
    if is_literal(field.annotation):
        entry["values"] = list(get_args(field.annotation))
    if field.annotation is not str and field.annotation is not Any:
        entry["json_schema"] = json_schema(field.annotation)
    return entry


def _field_from_json(entry: dict[str, Any], kind: FieldKind) -> Field:
    return Field(entry["name"], kind, _annotation(str(entry["type"])), entry.get("desc", ""),
                 entry.get("prefix", ""))


def _annotation(type_text: str) -> Any:
    try:
        return _parse_type(type_text, type_text)
    except ConfigurationError:
        return pydantic.create_model(type_text)
