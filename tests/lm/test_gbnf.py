"""The one JSON-schema-to-GBNF converter, checked with llama.cpp's own grammar engine."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from mipro import ConfigurationError
from mipro.lm.gbnf import SchemaRules, format_rules, schema_grammar
from tests.adapters.conftest import GrammarEngine

SCHEMA = {"type": "object", "properties": {"label": {"enum": ["pos", "neg"]},
                                           "score": {"type": "integer"}},
          "required": ["label", "score"], "additionalProperties": False}


@pytest.fixture(scope="module")
def engine() -> Iterator[GrammarEngine]:
    engine = GrammarEngine()
    yield engine
    engine.close()


def test_schema_grammar_admits_exactly_the_valid_documents(engine):
    grammar = schema_grammar(SCHEMA)
    assert engine.accepts(grammar, '{"label": "pos", "score": 3}')
    assert not engine.accepts(grammar, '{"label": "meh", "score": 3}')
    assert not engine.accepts(grammar, '{"score": 3, "label": "pos"}')  # in schema order
    assert not engine.accepts(grammar, '{"label": "neg", "score": 1.5}')


def test_schema_rules_name_parts_of_one_schema_with_shared_definitions(engine):
    schema = {"type": "object", "$defs": {"Unit": {"enum": ["cm", "kg"]}},
              "properties": {"unit": {"$ref": "#/$defs/Unit"}}}
    rules = SchemaRules(schema)
    name = rules.add(rules.schema["properties"]["unit"], "unit-value")
    grammar = format_rules({**rules.rules(), "root": f'"Unit: " {name}'})
    assert engine.accepts(grammar, 'Unit: "kg"') and not engine.accepts(grammar, 'Unit: "m"')


def test_a_schema_llama_cpp_cannot_convert_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="cannot turn the JSON schema"):
        schema_grammar({"type": "object", "properties": {"x": {"$ref": "#/$defs/Missing"}}})


def test_the_adapters_load_no_backend():
    code = ("import sys, mipro.adapters, mipro.adapters.grammar; "
            "sys.exit('llama_cpp' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
