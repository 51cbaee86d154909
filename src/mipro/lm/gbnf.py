"""JSON schemas as GBNF, the grammar format of llama.cpp: the one converter mipro uses.

The embedded model (``LocalLM``) and llama.cpp's servers (``OpenAILM``) take a reply schema as
a GBNF grammar, and the adapters build their line grammars from the schemas of single fields.
All of them go through ``SchemaRules``, a thin wrapper of llama.cpp's own converter (the one
llama-cpp-python ships); llama-cpp-python is imported on first use only, so importing the
adapters loads no backend.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from typing import Any

from mipro.errors import ConfigurationError, excerpt


class SchemaRules:
    """The GBNF rules of JSON schemas that share one set of definitions (``$defs``)::

        rules = SchemaRules(reply_schema)                       # resolves its ``$ref``s
        name = rules.add(rules.schema["properties"]["answer"], "answer-value")
        rules.rules()                                           # {rule name: body}
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        try:
            from llama_cpp.llama_grammar import SchemaConverter
        except ImportError as error:
            raise ConfigurationError(
                "turning a JSON schema into a llama.cpp grammar needs llama-cpp-python "
                f"(pip install llama-cpp-python): {error}"
            ) from None
        self._converter = SchemaConverter(
            prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False
        )
        try:
            self.schema: dict[str, Any] = self._converter.resolve_refs(
                copy.deepcopy(dict(schema)), "schema"
            )
        except Exception as error:  # noqa: BLE001 - the converter raises bare Exceptions
            raise _unconvertible(schema, error) from None

    def add(self, schema: Mapping[str, Any], name: str) -> str:
        """Add the rules of ``schema`` (a part of ``self.schema``) and return its rule's name;
        the name ``""`` makes it the ``root`` rule."""
        try:
            rule: str = self._converter.visit(schema, name)
        except Exception as error:  # noqa: BLE001 - the converter raises bare Exceptions
            raise _unconvertible(schema, error) from None
        return rule

    def rules(self) -> dict[str, str]:
        """``{name: body}`` of every rule added so far."""
        rules = {}
        for line in self._converter.format_grammar().splitlines():
            name, _, body = line.partition(" ::= ")
            rules[name] = body
        return rules


def schema_grammar(schema: Mapping[str, Any]) -> str:
    """The GBNF grammar (root rule ``root``) of the JSON documents valid for ``schema``."""
    return _schema_grammar(json.dumps(schema))


def format_rules(rules: Mapping[str, str]) -> str:
    """A grammar's text: one ``name ::= body`` line per rule."""
    return "\n".join(f"{name} ::= {body}" for name, body in rules.items()) + "\n"


def _unconvertible(schema: Mapping[str, Any], error: Exception) -> ConfigurationError:
    return ConfigurationError(
        f"llama.cpp cannot turn the JSON schema {excerpt(json.dumps(schema), 300)} into a "
        f"grammar: {error}"
    )


@functools.lru_cache(maxsize=64)
def _schema_grammar(schema_text: str) -> str:
    rules = SchemaRules(json.loads(schema_text))
    rules.add(rules.schema, "")
    return format_rules(rules.rules())
