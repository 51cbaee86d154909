"""GBNF grammars that make llama.cpp write only replies the adapters can parse.

The reply is one ``Label: value`` line per output field, in order, ending with an optional
newline. Each value is written after one space and admits only what its type accepts:

- ``Literal[...]``: exactly one of its values;
- ``bool``: ``true`` or ``false``; ``int`` and ``float``: a number;
- JSON types (lists, dicts, pydantic models): JSON valid for the field's schema, on one line;
- ``str``: one non-empty line of at most ``line_budget`` characters, so a long field such as
  ChainOfThought's reasoning always ends and leaves room for the fields after it.

Every token is at least one character, so a reply that fits in ``max_tokens`` characters is never
cut off: the ``str`` fields share what the labels and the other fields leave of ``max_tokens``.
(JSON values are not bounded, and a character outside ASCII can take more than one token.)

With ``include_first_label=False`` (the completion form, whose prompt ends with the first
label) the grammar starts inside the first value, at its leading space.
"""

from __future__ import annotations

from typing import Any, get_args

from mipro.adapters.json_reply import reply_schema
from mipro.lm.gbnf import SchemaRules, format_rules
from mipro.signatures import Field, Signature
from mipro.signatures.types import is_literal

MIN_LINE_CHARS = 32
# The longest value the grammar admits for these types, with its trailing space.
_VALUE_CHARS = {bool: 6, int: 18, float: 53}

# llama.cpp's JSON string character admits raw newlines and control characters, which would
# break the one-line-per-field reply; JSON itself forbids them, so this one does too.
_JSON_CHAR = r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})'
_LITERAL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def reply_grammar(
    signature: Signature,
    *,
    include_first_label: bool,
    max_tokens: int = 256,
) -> str:
    """The GBNF grammar (root rule ``root``) of a reply to ``signature`` in ``max_tokens``."""
    max_line_chars = line_budget(signature, max_tokens)
    schema_rules = SchemaRules(reply_schema(signature))
    sequence: list[str] = []
    for index, field in enumerate(signature.output_fields):
        if index:
            sequence.append(gbnf_literal("\n"))
        if index or include_first_label:
            sequence.append(gbnf_literal(f"{field.label}:"))
        field_schema = schema_rules.schema["properties"][field.name]
        value = _value_expression(field, field_schema, schema_rules, max_line_chars)
        sequence.append(f'" " {value}')
    rules = schema_rules.rules()
    if "char" in rules:
        rules["char"] = _JSON_CHAR
    rules["root"] = " ".join(sequence) + f" {gbnf_literal(chr(10))}?"
    return format_rules(rules)


def line_budget(signature: Signature, max_tokens: int) -> int:
    """The characters each ``str`` output may take so that the reply fits in ``max_tokens``."""
    outputs = signature.output_fields
    text_fields = [f for f in outputs if _is_text(f.annotation)]
    fixed = sum(len(f.label) + 3 for f in outputs)  # label, ": ", newline
    for field in outputs:
        if is_literal(field.annotation):
            fixed += max(len(str(choice)) for choice in get_args(field.annotation))
        else:
            fixed += _VALUE_CHARS.get(field.annotation, 0)
    return max(MIN_LINE_CHARS, (max_tokens - fixed) // max(len(text_fields), 1))


def gbnf_literal(text: str) -> str:
    """``text`` as a quoted GBNF string literal."""
    escaped = "".join(_LITERAL_ESCAPES.get(char, char) for char in text)
    return f'"{escaped}"'


def _value_expression(
    field: Field, schema: dict[str, Any], schema_rules: SchemaRules, max_line_chars: int
) -> str:
    annotation = field.annotation
    if is_literal(annotation):
        choices = " | ".join(gbnf_literal(str(choice)) for choice in get_args(annotation))
        return f"({choices})"
    if _is_text(annotation):
        # A non-blank first character, then the rest of the line.
        return rf"[^\r\n\t ] [^\r\n]{{0,{max(max_line_chars - 1, 0)}}}"
    return schema_rules.add(schema, f"{field.name.replace('_', '-')}-value")


def _is_text(annotation: Any) -> bool:
    return annotation is str or annotation is Any
