"""Signatures as JSON data: written field by field, rebuilt to prompt exactly like the original."""

from typing import Any, Literal, Optional

import pydantic
import pytest

from mipro import ConfigurationError, InputField, OutputField, Signature
from mipro.adapters import ChatAdapter, CompletionAdapter
from mipro.signatures import ensure_signature
from mipro.signatures.serialize import signature_differences, signature_from_json, signature_to_json
from mipro.signatures.types import type_name


class Answer(pydantic.BaseModel):
    value: int


class Everything(Signature):
    """Fill {every} field."""

    question: str = InputField(desc="the question")
    passages: list[str] = InputField()
    label: Literal["yes", "no", 3] = OutputField(desc="a label")
    score: float = OutputField()
    sure: bool = OutputField()
    maybe: Optional[int] = OutputField()
    union: int | None = OutputField()
    answer: Answer = OutputField()
    answers: list[Answer] = OutputField()
    table: dict[str, list[int]] = OutputField()
    anything: Any = OutputField()


def test_rebuilt_signature_has_the_same_types_and_prompts():
    signature = ensure_signature(Everything)
    rebuilt = signature_from_json(signature_to_json(signature), source="test")
    assert [type_name(f.annotation) for f in rebuilt.fields] == \
        [type_name(f.annotation) for f in signature.fields]
    assert [(f.name, f.kind, f.desc, f.label) for f in rebuilt.fields] == \
        [(f.name, f.kind, f.desc, f.label) for f in signature.fields]
    assert rebuilt.instructions == "Fill {every} field."
    inputs = {"question": "q?", "passages": ["a", "b"]}
    assert ChatAdapter().format_messages(rebuilt, [], inputs) == \
        ChatAdapter().format_messages(signature, [], inputs)
    assert CompletionAdapter().format_prompt(rebuilt, [], inputs) == \
        CompletionAdapter().format_prompt(signature, [], inputs)


def test_literal_values_and_json_schemas_are_written():
    outputs = {entry["name"]: entry for entry in signature_to_json(ensure_signature(Everything))["outputs"]}
    assert outputs["label"]["values"] == ["yes", "no", 3]
    assert outputs["answer"]["json_schema"]["properties"] == {"value": {"title": "Value", "type": "integer"}}
    assert "json_schema" not in outputs["anything"]


def test_differences_ignore_the_instruction_and_name_each_change():
    signature = Signature.parse("question -> answer: int")
    saved = signature_to_json(signature.with_instructions("Another instruction."))
    assert signature_differences(saved, signature) == []
    changed = Signature.parse("question -> answer: float")
    assert signature_differences(saved, changed) == [
        "output `answer` type: saved 'int', the program has 'float'",
        "output `answer` JSON schema: saved {'type': 'integer'}, the program has {'type': 'number'}",
    ]


def test_malformed_data_is_a_configuration_error_naming_the_source():
    with pytest.raises(ConfigurationError, match="p.json: predictor `x`: the signature is incomplete"):
        signature_from_json({"inputs": []}, source="p.json: predictor `x`")
