from typing import Literal

import pydantic
import pytest

from mipro import InputField, OutputField, Signature
from mipro.adapters import ChatAdapter, CompletionAdapter
from mipro.adapters.grammar import gbnf_literal, line_budget, reply_grammar
from mipro.lm.base import LMCapabilities
from mipro.program.predict import REASONING
from mipro.signatures import ensure_signature


class Person(pydantic.BaseModel):
    name: str
    age: int


class Extract(Signature):
    """Extract the person."""

    text: str = InputField()
    person: Person = OutputField()


def grammar(spec, *, first_label=True, max_tokens=256):
    signature = ensure_signature(spec)
    return reply_grammar(signature, include_first_label=first_label, max_tokens=max_tokens)


def test_literal_field_admits_only_its_values(grammar_engine):
    rules = grammar("text -> label: Literal['positive', 'negative', 'not sure']")
    for reply in ["Label: positive", "Label: negative\n", "Label: not sure"]:
        assert grammar_engine.accepts(rules, reply), reply
    for reply in ["Label: neutral", "Label: Positive", "Label:positive", "positive", "Label: pos"]:
        assert not grammar_engine.accepts(rules, reply), reply


def test_completion_form_starts_inside_the_first_value(grammar_engine):
    rules = grammar("text -> label: Literal['yes', 'no']", first_label=False)
    assert grammar_engine.accepts(rules, " yes\n")
    assert not grammar_engine.accepts(rules, "Label: yes")
    assert not grammar_engine.accepts(rules, "yes")


def test_bool_field_admits_only_true_or_false(grammar_engine):
    rules = grammar("claim -> supported: bool")
    assert grammar_engine.accepts(rules, "Supported: true")
    assert grammar_engine.accepts(rules, "Supported: false\n")
    for reply in ["Supported: yes", "Supported: True", "Supported: truth"]:
        assert not grammar_engine.accepts(rules, reply), reply


def test_number_fields_admit_only_numbers(grammar_engine):
    rules = grammar("question -> count: int, ratio: float")
    assert grammar_engine.accepts(rules, "Count: 42\nRatio: -0.25")
    assert grammar_engine.accepts(rules, "Count: -7\nRatio: 3e-2\n")
    for reply in ["Count: 4.5\nRatio: 1", "Count: forty\nRatio: 1", "Count: 4\nRatio: 1.5x",
                  "Count: 4"]:
        assert not grammar_engine.accepts(rules, reply), reply


def test_json_fields_admit_only_schema_valid_json_on_one_line(grammar_engine):
    rules = grammar(Extract)
    assert grammar_engine.accepts(rules, 'Person: {"name": "Ada", "age": 36}')
    for reply in ['Person: {"name": "Ada"}', 'Person: {"name": "Ada", "age": "36"}',
                  'Person: {"name": "A\nda", "age": 36}', 'Person: {"age": 36, "name": "Ada"}',
                  "Person: Ada, 36"]:
        assert not grammar_engine.accepts(rules, reply), reply
    tags = grammar("text -> tags: list[str]")
    assert grammar_engine.accepts(tags, 'Tags: ["a", "b c"]')
    assert not grammar_engine.accepts(tags, "Tags: [1, 2]")
    assert not grammar_engine.accepts(tags, "Tags: a, b")


def test_str_field_is_one_bounded_non_empty_line(grammar_engine):
    signature = Signature.parse("question -> answer")
    assert line_budget(signature, max_tokens=49) == 40  # 49 less "Answer: " and a newline
    rules = grammar(signature, max_tokens=49)
    assert grammar_engine.accepts(rules, "Answer: Lima, Peru.")
    assert grammar_engine.accepts(rules, "Answer: " + "x" * 40 + "\n")
    for reply in ["Answer: ", "Answer:  Lima", "Answer: " + "x" * 41, "Answer: Lima\nPeru"]:
        assert not grammar_engine.accepts(rules, reply), reply


def test_the_longest_reply_fits_in_max_tokens_characters(grammar_engine):
    signature = Signature.parse(
        "question -> answer: Literal['setosa', 'versicolor']"
    ).prepend_output(REASONING)
    budget = line_budget(signature, max_tokens=200)
    longest = "Reasoning: " + "1" * budget + "\nAnswer: versicolor\n"
    assert grammar_engine.accepts(grammar(signature, max_tokens=200), longest)
    assert not grammar_engine.accepts(grammar(signature, max_tokens=199), longest)
    assert len(longest) <= 200
    two_texts = Signature.parse("question -> query").prepend_output(REASONING)
    assert line_budget(two_texts, max_tokens=256) == (256 - len("Reasoning: \nQuery: \n")) // 2


def test_chain_of_thought_reply_has_reasoning_then_answer(grammar_engine):
    signature = Signature.parse("question -> answer: int").prepend_output(REASONING)
    chat = grammar(signature)
    completion = grammar(signature, first_label=False)
    assert grammar_engine.accepts(chat, "Reasoning: 2 plus 3 is 5.\nAnswer: 5")
    assert grammar_engine.accepts(completion, " 2 plus 3 is 5.\nAnswer: 5\n")
    for reply in ["Reasoning: 2 plus 3 is 5.", "Reasoning: 2 plus 3.\nAnswer: five",
                  "Answer: 5\nReasoning: easy", "Reasoning: two\nlines\nAnswer: 5"]:
        assert not grammar_engine.accepts(chat, reply), reply


def test_grammar_labels_match_the_parser(grammar_engine):
    signature = Signature.parse("question -> search_query, answer: Literal['a', 'b']")
    reply = "Search Query: capital of peru\nAnswer: a\n"
    assert grammar_engine.accepts(grammar(signature), reply)
    assert ChatAdapter().parse(signature, reply) == {"search_query": "capital of peru", "answer": "a"}


@pytest.mark.parametrize("adapter", [ChatAdapter(), CompletionAdapter()])
def test_adapters_put_a_compiling_grammar_on_requests_to_grammar_backends(adapter, grammar_engine):
    signature = Signature.parse("text -> label: Literal['pos', 'neg'], tags: list[str]")
    request = adapter.build_request(
        signature, [], {"text": "fine"}, capabilities=LMCapabilities(grammar=True, json_schema=True)
    )
    assert request.grammar is not None and request.json_schema is None
    assert grammar_engine.compiles(request.grammar)
    reply = 'Label: neg\nTags: ["x"]'
    if adapter.reply_starts_inside_first_field:
        reply = reply.removeprefix("Label:")
    assert grammar_engine.accepts(request.grammar, reply)
    assert adapter.parse(signature, reply) == {"label": "neg", "tags": ["x"]}


def test_no_grammar_for_backends_without_grammar_support():
    request = ChatAdapter().build_request(
        Signature.parse("q -> a"), [], {"q": "x"}, capabilities=LMCapabilities()
    )
    assert request.grammar is None and request.json_schema is None


def test_gbnf_literal_escapes_quotes_backslashes_and_newlines(grammar_engine):
    text = 'say "hi"\\\n'
    rules = f"root ::= {gbnf_literal(text)}"
    assert grammar_engine.accepts(rules, text)
    assert not grammar_engine.accepts(rules, "say hi")


def test_engine_rejects_a_broken_grammar(grammar_engine):
    assert not grammar_engine.compiles('root ::= "unterminated')
