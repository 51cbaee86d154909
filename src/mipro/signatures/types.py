"""Parsing and validating field values into their Python types.

Supported annotations: ``str`` (and ``Any``), ``bool``, ``int``, ``float``, ``Literal[...]``,
and JSON values: ``list[...]``, ``dict[...]``, ``tuple``/``set``, unions and pydantic models.
"""

from __future__ import annotations

import json
import re
import types
import typing
from typing import Any, Literal, get_args, get_origin

import pydantic

_TRUE_WORDS = {"true", "yes", "y", "1"}
_FALSE_WORDS = {"false", "no", "n", "0"}
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_JSON_CONTAINERS = (list, dict, tuple, set, frozenset)
_CODE_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)
SUPPORTED_TYPES = (
    "str, bool, int, float, Literal[...], list[...], dict[...], tuple/set, unions "
    "and pydantic models"
)


def type_name(annotation: Any) -> str:
    """A readable name for an annotation, as written in a string signature."""
    if isinstance(annotation, type) and not get_args(annotation):
        return annotation.__name__
    return repr(annotation).replace("typing.", "")


def is_literal(annotation: Any) -> bool:
    return get_origin(annotation) is Literal


def is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (typing.Union, types.UnionType)


def is_json_type(annotation: Any) -> bool:
    """True for types whose values are written as JSON (containers, unions, pydantic models)."""
    origin = get_origin(annotation) or annotation
    if origin in _JSON_CONTAINERS or is_union(annotation):
        return True
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def check_annotation(annotation: Any) -> None:
    """Raise ``ValueError`` naming the supported types if ``annotation`` is not one of them."""
    scalar = annotation in (str, bool, int, float, Any)
    if not (scalar or is_literal(annotation) or is_json_type(annotation)):
        raise ValueError(f"unsupported field type {type_name(annotation)}; use {SUPPORTED_TYPES}")


def json_schema(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a field value."""
    schema: dict[str, Any] = pydantic.TypeAdapter(annotation).json_schema()
    return schema


def parse_value(raw: str, annotation: Any) -> Any:
    """Parse the text an LM wrote for one field into ``annotation``.

    Raises ``ValueError`` with a short reason when the text does not validate.
    """
    text = raw.strip()
    if not text:
        raise ValueError("the value is empty")
    if annotation is str or annotation is Any:
        return text
    if annotation is bool:
        return _parse_bool(text)
    if annotation in (int, float):
        return _parse_number(text, annotation)
    if is_literal(annotation):
        return _parse_literal(text, get_args(annotation))
    if is_union(annotation):
        return _parse_union(text, annotation)
    if is_json_type(annotation):
        return _parse_json(text, annotation)
    raise ValueError(f"unsupported field type {type_name(annotation)}")


def coerce_value(value: Any, annotation: Any) -> Any:
    """Validate a value taken from a JSON reply: strings are parsed as LM text, others validated."""
    if isinstance(value, str):
        return parse_value(value, annotation)
    if annotation is str or annotation is Any:
        return format_value(value)
    if is_literal(annotation):
        return _parse_literal(format_value(value), get_args(annotation))
    return _validate(value, annotation)


def format_value(value: Any) -> str:
    """Write a field value the way the LM is asked to write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump_json()
    if isinstance(value, (list, dict, tuple, set, frozenset)):
        return json.dumps(jsonable(value), ensure_ascii=False)
    return str(value)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (pydantic models and sets become dicts and lists)."""
    return pydantic.TypeAdapter(Any).dump_python(value, mode="json")


def strip_code_fence(text: str) -> str:
    """The content of a reply wrapped in a Markdown code fence, else the reply."""
    match = _CODE_FENCE.match(text.strip())
    return match.group(1).strip() if match else text.strip()


def _parse_bool(text: str) -> bool:
    word = text.strip(" .!\"'`*").lower()
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
    for choice in sorted(choices, key=lambda c: -len(str(c))):
        if cleaned.startswith(str(choice).lower()):
            return choice
    raise ValueError(f"expected one of {', '.join(map(str, choices))}; got {text!r}")


def _parse_union(text: str, annotation: Any) -> Any:
    try:
        return _parse_json(text, annotation)
    except ValueError:
        # A union that admits str also takes the plain text.
        return _validate(text, annotation)


def _parse_json(text: str, annotation: Any) -> Any:
    text = strip_code_fence(text)
    try:
        return _validate(_first_json_value(text), annotation)
    except ValueError as error:
        failure = str(error)
    plain_list = get_origin(annotation) is list and get_args(annotation) in ((str,), ())
    if plain_list and text[0] not in "[{":
        # Small models often write a plain list ("a, b" or one item a line) instead of JSON.
        items = [item.strip(" -*\"'[]") for item in re.split(r"[\n,;]", text)]
        if any(items):
            return [item for item in items if item]
    raise ValueError(f"invalid JSON for {type_name(annotation)}: {failure}")


def _first_json_value(text: str) -> Any:
    """The first JSON object or array in ``text``, ignoring prose around it."""
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    start = min(starts) if starts else 0
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at character {error.pos})") from None


def _validate(value: Any, annotation: Any) -> Any:
    try:
        return pydantic.TypeAdapter(annotation).validate_python(value)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ValueError(f"{first['msg']}{f' at {where}' if where else ''}") from None
