"""Parsing and validating field values into their Python types.

Supported annotations: ``str``, ``bool``, ``int``, ``float``, ``Literal[...]``, ``list[str]``
(and other ``list[...]``), ``dict`` and pydantic models (JSON).
"""

from __future__ import annotations

import json
import re
import typing
from typing import Any, Literal, get_args, get_origin

import pydantic

_TRUE_WORDS = {"true", "yes", "y", "1"}
_FALSE_WORDS = {"false", "no", "n", "0"}
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def type_name(annotation: Any) -> str:
    """A readable name for an annotation, as written in a string signature."""
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def is_literal(annotation: Any) -> bool:
    return get_origin(annotation) is Literal


def is_json_type(annotation: Any) -> bool:
    """True for types whose values are written as JSON (lists, dicts, pydantic models)."""
    origin = get_origin(annotation) or annotation
    if origin in (list, dict):
        return True
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def json_schema(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a field value."""
    schema: dict[str, Any] = pydantic.TypeAdapter(annotation).json_schema()
    return schema


def parse_value(raw: str, annotation: Any) -> Any:
    """Parse the text an LM wrote for one field into ``annotation``.

    Raises ``ValueError`` with a short reason when the text does not validate.
    """
    text = raw.strip()
    if annotation is str or annotation is Any:
        if not text:
            raise ValueError("the value is empty")
        return text
    if annotation is bool:
        return _parse_bool(text)
    if annotation in (int, float):
        return _parse_number(text, annotation)
    if is_literal(annotation):
        return _parse_literal(text, get_args(annotation))
    if is_json_type(annotation):
        return _parse_json(text, annotation)
    if get_origin(annotation) is typing.Union:
        return pydantic.TypeAdapter(annotation).validate_python(text)
    raise ValueError(f"unsupported field type {type_name(annotation)}")


def format_value(value: Any) -> str:
    """Write a field value the way the LM is asked to write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump_json()
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _parse_bool(text: str) -> bool:
    word = text.strip(" .!\"'`").lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _parse_number(text: str, annotation: type) -> int | float:
    match = _NUMBER.search(text.replace(",", ""))
    if match is None:
        raise ValueError(f"expected a number, got {text!r}")
    number = float(match.group())
    if annotation is int:
        if not number.is_integer():
            raise ValueError(f"expected an integer, got {match.group()!r}")
        return int(number)
    return number


def _parse_literal(text: str, choices: tuple[Any, ...]) -> Any:
    cleaned = text.strip(" .!\"'`*").lower()
    for choice in choices:
        if str(choice).lower() == cleaned:
            return choice
    # A reply such as "positive (the review praises...)" still names exactly one choice first.
    for choice in choices:
        if cleaned.startswith(str(choice).lower()):
            return choice
    raise ValueError(f"expected one of {', '.join(map(str, choices))}; got {text!r}")


def _parse_json(text: str, annotation: Any) -> Any:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    candidate = text[start:] if start >= 0 else text
    try:
        return pydantic.TypeAdapter(annotation).validate_json(candidate)
    except pydantic.ValidationError as error:
        failure = error.errors()[0]["msg"]
    if get_origin(annotation) is list and get_args(annotation) in ((str,), ()):
        # Small models often write a plain list ("a, b" or one item a line) instead of JSON.
        items = [item.strip(" -*\"'") for item in re.split(r"[\n,;]", text)]
        if any(items):
            return [item for item in items if item]
    raise ValueError(f"invalid JSON for {type_name(annotation)}: {failure}")
