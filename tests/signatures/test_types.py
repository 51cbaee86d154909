from typing import Any, Literal, NamedTuple, Optional

import pydantic
import pytest

from mipro import ConfigurationError, InputField, OutputField, ParseError, Predict, Signature
from mipro.adapters import ChatAdapter
from mipro.signatures import ensure_signature
from mipro.signatures.types import coerce_value, format_value, parse_value, type_name
from mipro.testing import ScriptedLM


class Person(pydantic.BaseModel):
    name: str
    age: int


class Case(NamedTuple):
    type_text: str | None  # as written in a string signature; None: class form only
    annotation: Any
    valid: str
    expected: Any
    invalid: str


CASES = [
    Case("str", str, "Lima, Peru", "Lima, Peru", ""),
    Case("bool", bool, "No.", False, "perhaps"),
    Case("int", int, "about 1,200", 1200, "4.5"),
    Case("float", float, "0.75", 0.75, "high"),
    Case("Literal['positive', 'negative']", Literal["positive", "negative"], "Positive",
         "positive", "neutral"),
    Case("list[str]", list[str], '["a", "b c"]', ["a", "b c"], '{"a": 1}'),
    Case("list[int]", list[int], "[1, 2]", [1, 2], '["x"]'),
    Case("dict", dict, 'Here: {"a": 1}', {"a": 1}, "no json here"),
    Case("dict[str, int]", dict[str, int], '{"a": 1}', {"a": 1}, '{"a": "x"}'),
    Case("Optional[int]", Optional[int], "null", None, "[3]"),
    Case(None, Person, '{"name": "Ada", "age": 36}', Person(name="Ada", age=36), '{"name": "Ada"}'),
]


def string_form(case: Case) -> Signature:
    if case.type_text is None:
        pytest.skip("a pydantic model can only be named in a class-form signature")
    return Signature.parse(f"text -> value: {case.type_text}")


def class_form(case: Case) -> Signature:
    annotation = case.annotation

    class Typed(Signature):
        """Fill in the value."""

        text: str = InputField()
        value: annotation = OutputField()  # type: ignore[valid-type]

    return ensure_signature(Typed)


@pytest.fixture(
    params=[(form, case) for form in (string_form, class_form) for case in CASES],
    ids=[f"{form}-{type_name(case.annotation)}" for form in ("string", "class") for case in CASES],
)
def typed(request: pytest.FixtureRequest) -> tuple[Signature, Case]:
    form, case = request.param
    return form(case), case


def test_both_signature_forms_carry_the_type_and_parse_valid_values(typed):
    signature, case = typed
    assert signature.output_fields[0].annotation == case.annotation
    assert ChatAdapter().parse(signature, f"Value: {case.valid}") == {"value": case.expected}


def test_invalid_value_is_a_parse_error_naming_field_type_and_reply(typed):
    signature, case = typed
    reply = f"Value: {case.invalid}"
    lm = ScriptedLM([reply, reply], prompt_format="chat")
    with pytest.raises(ParseError) as caught:
        Predict(signature, lm=lm)(text="t")
    message = str(caught.value)
    assert caught.value.field == "value" and caught.value.raw_reply == reply
    assert "field `value`" in message
    assert f"expected {type_name(case.annotation)}" in message
    assert repr(reply) in message


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        (3, int, 3), ("3", int, 3), (0.5, float, 0.5), (True, bool, True), ("yes", bool, True),
        ("Neg", Literal["pos", "neg"], "neg"), (1, Literal[1, 2], 1), (42, str, "42"),
        ({"k": [1]}, str, '{"k": [1]}'), (["a"], list[str], ["a"]),
        ({"name": "Ada", "age": 36}, Person, Person(name="Ada", age=36)),
    ],
)
def test_json_reply_values_are_validated_into_their_types(value, annotation, expected):
    assert coerce_value(value, annotation) == expected


@pytest.mark.parametrize(
    ("value", "annotation"),
    [("x", int), (1.5, int), ([1], bool), ("maybe", Literal["pos", "neg"]), ({"name": 1}, Person)],
)
def test_json_reply_values_that_do_not_validate_are_rejected(value, annotation):
    with pytest.raises(ValueError):
        coerce_value(value, annotation)


def test_literal_prefers_the_longest_choice_a_reply_starts_with():
    assert parse_value("not sure, maybe", Literal["no", "not sure"]) == "not sure"
    assert parse_value("negative (the tone is sour)", Literal["positive", "negative"]) == "negative"


def test_plain_lists_are_accepted_for_list_of_str():
    assert parse_value("apples, pears\nplums", list[str]) == ["apples", "pears", "plums"]
    assert parse_value("```json\n[\"a\"]\n```", list[str]) == ["a"]


def test_values_are_written_back_the_way_they_are_parsed():
    for value, annotation in [(True, bool), (3, int), ({"a": [1]}, dict), (["x", "y"], list[str]),
                              (Person(name="Ada", age=36), Person)]:
        assert parse_value(format_value(value), annotation) == value


def test_input_fields_carry_types_and_render_them():
    class Count(Signature):
        """Count the items."""

        items: list[str] = InputField()
        limit: int = InputField()
        total: int = OutputField()

    signature = ensure_signature(Count)
    assert [f.annotation for f in signature.input_fields] == [list[str], int]
    prompt = ChatAdapter().format_messages(signature, [], {"items": ["a", "b"], "limit": 3})
    assert "Items:\n[1] «a»\n[2] «b»\nLimit: 3" in prompt[-1]["content"]
    assert "Total: ${total} (an integer)" in prompt[0]["content"]


@pytest.mark.parametrize(
    ("text", "annotation", "expected"),
    [("[1, 1]", set[int], {1}), ('[1, "a"]', tuple[int, str], (1, "a"))],
)
def test_other_pydantic_containers_are_json_values(text, annotation, expected):
    assert parse_value(text, annotation) == expected


def test_unsupported_types_are_rejected_when_the_signature_is_made():
    class Opaque:
        pass

    with pytest.raises(ConfigurationError, match="field `value`: unsupported field type Opaque"):
        class Bad(Signature):
            text: str = InputField()
            value: Opaque = OutputField()
