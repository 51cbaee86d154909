from typing import Literal

import pytest

from mipro import ConfigurationError, InputField, OutputField, Signature
from mipro.signatures import ensure_signature


def test_string_form_parses_inputs_outputs_and_labels():
    signature = Signature.parse("context, question -> search_query")
    assert signature.input_names == ("context", "question")
    assert signature.output_names == ("search_query",)
    assert signature.output_fields[0].label == "Search Query"
    assert "`context`, `question`" in signature.instructions


def test_string_form_reads_types():
    signature = Signature.parse(
        "text, n: int -> label: Literal['positive', 'negative'], confidence: float, tags: list[str]"
    )
    types = {field.name: field.annotation for field in signature.fields}
    assert types == {
        "text": str, "n": int, "label": Literal["positive", "negative"],
        "confidence": float, "tags": list[str],
    }


@pytest.mark.parametrize("text", ["question answer", "a -> b -> c", "a ->", "a, 1x -> b", "a -> b: Foo"])
def test_string_form_rejects_bad_signatures(text):
    with pytest.raises(ConfigurationError):
        Signature.parse(text)


class QA(Signature):
    """Answer the question from the context."""

    context: str = InputField(desc="relevant passages")
    question: str = InputField()
    answer: Literal["yes", "no"] = OutputField(desc="yes or no")


def test_class_form_uses_docstring_types_and_descriptions():
    signature = ensure_signature(QA)
    assert signature.instructions == "Answer the question from the context."
    assert signature.input_names == ("context", "question")
    assert signature.output_fields[0].annotation == Literal["yes", "no"]
    assert signature.input_fields[0].desc == "relevant passages"


def test_with_instructions_returns_a_copy():
    signature = ensure_signature(QA)
    changed = signature.with_instructions("Be brief.")
    assert changed.instructions == "Be brief."
    assert signature.instructions == "Answer the question from the context."
    assert changed.fields == signature.fields


def test_class_without_output_is_an_error():
    with pytest.raises(ConfigurationError, match="OutputField"):
        class NoOutput(Signature):
            question: str = InputField()
