"""The JSON reply: one object with a key per output field, for servers with structured outputs.

``reply_schema`` is what an adapter puts on ``LMRequest.json_schema``; ``parse_json_reply``
recognizes such a reply, so parsing serves both reply shapes (JSON and ``Label: value`` lines).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pydantic

from mipro.signatures import Signature
from mipro.signatures.types import jsonable, strip_code_fence


def reply_schema(signature: Signature) -> dict[str, Any]:
    """A JSON schema of the reply: an object with every output field, required and in order.

    ``Literal`` fields become ``enum``; pydantic models share one top-level ``$defs``.
    """
    adapters = [
        (field.name, "validation", pydantic.TypeAdapter(field.annotation))
        for field in signature.output_fields
    ]
    field_schemas, definitions = pydantic.TypeAdapter.json_schemas(adapters)
    return {
        "type": "object",
        "properties": {
            field.name: field_schemas[(field.name, "validation")]
            for field in signature.output_fields
        },
        "required": list(signature.output_names),
        "additionalProperties": False,
        **definitions,
    }


def parse_json_reply(signature: Signature, reply: str) -> dict[str, Any] | None:
    """The reply's JSON object when it is one with an output field's key, else ``None``."""
    try:
        data = json.loads(strip_code_fence(reply))
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict) and any(name in data for name in signature.output_names):
        return data
    return None


def format_json_reply(signature: Signature, values: Mapping[str, Any]) -> str:
    """A demo's outputs written as the JSON reply the LM is asked for."""
    present = {
        field.name: jsonable(values[field.name])
        for field in signature.output_fields
        if values.get(field.name) is not None
    }
    return json.dumps(present, ensure_ascii=False)


def json_reminder(signature: Signature) -> str:
    """The one-line format instruction of a JSON reply."""
    keys = ", ".join(f"`{name}`" for name in signature.output_names)
    return f"Reply with one JSON object with the keys {keys}, in that order."
