"""Adapters own how a prompt looks and how a reply is parsed.

Both prompt forms ask for the same reply: one ``Label: value`` line per output field, in the
signature's order. Parsing and the grammars that constrain decoding (``grammar.py``) therefore
serve both forms. A backend with structured outputs but no grammar (a server) is asked for a JSON
object instead (``json_reply.py``); ``parse`` reads either shape.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from mipro.adapters.json_reply import parse_json_reply, reply_schema
from mipro.lm.base import LMCapabilities, LMRequest
from mipro.signatures import Field, Signature
from mipro.signatures.types import coerce_value, format_value, is_json_type, is_literal, type_name


class FieldParseError(ValueError):
    """A reply is missing a field, or a field's value does not validate."""

    def __init__(self, field: Field, reason: str):
        self.field = field
        super().__init__(
            f"field `{field.name}` (expected {type_name(field.annotation)}): {reason}"
        )


class Adapter(ABC):
    """Turns (signature, demos, inputs) into an ``LMRequest`` and a reply back into fields."""

    #: Whether the prompt already ends with the first output field's label.
    reply_starts_inside_first_field: bool = False

    #: Stop sequences of every request.
    stop: tuple[str, ...] = ()

    def build_request(
        self,
        signature: Signature,
        demos: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        *,
        capabilities: LMCapabilities,
        temperature: float = 0.0,
        max_tokens: int = 256,
        rollout: int | str = 0,
        seed: int | None = None,
        reminder: str | None = None,
    ) -> LMRequest:
        """The request for one call; ``reminder`` is a format note added on a retry."""
        return LMRequest(
            **self.prompt(signature, demos, inputs, reminder=reminder, capabilities=capabilities),
            temperature=temperature,
            max_tokens=max_tokens,
            stop=self.stop,
            grammar=self.grammar(signature, capabilities, max_tokens),
            json_schema=self.json_schema(signature, capabilities),
            rollout=rollout,
            seed=seed,
        )

    @abstractmethod
    def prompt(
        self,
        signature: Signature,
        demos: Sequence[Mapping[str, Any]],
        inputs: Mapping[str, Any],
        *,
        reminder: str | None,
        capabilities: LMCapabilities,
    ) -> dict[str, Any]:
        """``{"prompt": text}`` or ``{"messages": (...)}`` for one call."""

    def parse(self, signature: Signature, reply: str) -> dict[str, Any]:
        """Parse a reply into typed output values; raises ``FieldParseError``.

        Both reply shapes are read: ``Label: value`` lines and a JSON object keyed by field name.
        """
        raw_values: Mapping[str, Any] | None = parse_json_reply(signature, reply)
        if raw_values is None:
            text = reply
            if self.reply_starts_inside_first_field:
                text = f"{signature.output_fields[0].label}:{reply}"
            raw_values = split_reply(signature, text)
        values = {}
        for output in signature.output_fields:
            if output.name not in raw_values:
                raise FieldParseError(output, f"the JSON reply has no `{output.name}` key")
            try:
                values[output.name] = coerce_value(raw_values[output.name], output.annotation)
            except ValueError as error:
                raise FieldParseError(output, str(error)) from None
        return values

    def grammar(
        self, signature: Signature, capabilities: LMCapabilities, max_tokens: int = 256
    ) -> str | None:
        """A GBNF grammar for the reply, when the backend can constrain decoding."""
        if not capabilities.grammar:
            return None
        from mipro.adapters.grammar import reply_grammar

        return reply_grammar(
            signature,
            include_first_label=not self.reply_starts_inside_first_field,
            max_tokens=max_tokens,
        )

    def json_schema(self, signature: Signature, capabilities: LMCapabilities) -> dict[str, Any] | None:
        """The JSON schema of the reply, for backends with structured outputs but no grammar."""
        return reply_schema(signature) if json_mode(capabilities) else None


def json_mode(capabilities: LMCapabilities) -> bool:
    """Whether replies are JSON objects: the backend takes a JSON schema but no grammar."""
    return capabilities.json_schema and not capabilities.grammar


def split_reply(signature: Signature, text: str) -> dict[str, str]:
    """Cut a reply at the ``Label:`` markers of the output fields, in order."""
    values: dict[str, str] = {}
    position = 0
    outputs = signature.output_fields
    for index, output in enumerate(outputs):
        match = _marker(output.label).search(text, position)
        if match is None:
            raise FieldParseError(output, f"the reply has no `{output.label}:` line")
        start = match.end()
        if index + 1 < len(outputs):
            following = _marker(outputs[index + 1].label).search(text, start)
            end = following.start() if following else len(text)
        else:
            end = _end_of_last_field(signature, text, start)
        values[output.name] = text[start:end].strip()
        position = end
    return values


def _marker(label: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|\n)[ \t]*\**{re.escape(label)}\**[ \t]*:\**", re.IGNORECASE)


def _end_of_last_field(signature: Signature, text: str, start: int) -> int:
    """The last value ends at a blank line or at the start of a new example."""
    candidates = [text.find("\n\n", start), text.find("\n---", start)]
    for field in signature.input_fields:
        match = _marker(field.label).search(text, start)
        if match:
            candidates.append(match.start())
    found = [c for c in candidates if c >= 0]
    return min(found) if found else len(text)


def describe_value(field: Field) -> str:
    """The placeholder that tells the LM what to write for a field."""
    hint = field.desc or field.name.replace("_", " ")
    annotation = field.annotation
    if annotation is bool:
        return f"${{{hint}}} (true or false)"
    if annotation is int:
        return f"${{{hint}}} (an integer)"
    if annotation is float:
        return f"${{{hint}}} (a number)"
    if is_literal(annotation):
        return f"${{{hint}}} (exactly one of: {', '.join(map(str, get_args(annotation)))})"
    if is_json_type(annotation):
        return f"${{{hint}}} (JSON of type {type_name(annotation)})"
    return f"${{{hint}}}"


def render_value(value: Any) -> str:
    """Write an input or demo value into a prompt; passage lists are numbered."""
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return "\n".join(f"[{i}] «{item}»" for i, item in enumerate(value, 1)) or "N/A"
    return format_value(value)


def render_fields(fields: Sequence[Field], values: Mapping[str, Any]) -> str:
    """``Label: value`` lines for the fields present in ``values``."""
    lines = []
    for field in fields:
        if field.name in values and values[field.name] is not None:
            rendered = render_value(values[field.name])
            separator = "\n" if "\n" in rendered else " "
            lines.append(f"{field.label}:{separator}{rendered}")
    return "\n".join(lines)


def format_reminder(signature: Signature) -> str:
    """The one-line format instruction used on a retry."""
    labels = ", ".join(f"`{f.label}:`" for f in signature.output_fields)
    return f"Reply with one line per field, starting with {labels}, in that order."
