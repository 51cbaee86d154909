from typing import Literal

import pytest

from mipro import Signature
from mipro.adapters import ChatAdapter, CompletionAdapter, FieldParseError
from mipro.lm.base import LMCapabilities
from mipro.program.predict import REASONING

QA = Signature.parse("question -> answer", instructions="Answer briefly.")
DEMOS = [{"question": "Capital of France?", "answer": "Paris"}]


def test_completion_prompt_has_instruction_format_demos_and_open_label():
    prompt = CompletionAdapter().build_request(
        QA, DEMOS, {"question": "Capital of Peru?"}, capabilities=LMCapabilities()
    ).prompt
    assert prompt is not None
    assert prompt.startswith("Answer briefly.")
    assert "Question: ${question}\nAnswer: ${answer}" in prompt
    assert "Question: Capital of France?\nAnswer: Paris" in prompt
    assert prompt.endswith("Question: Capital of Peru?\nAnswer:")
    # The instruction and demos come first, so examples of one evaluation share a prefix.
    assert prompt.index("Capital of France") < prompt.index("Capital of Peru")


def test_chat_messages_have_system_demo_turns_and_query():
    request = ChatAdapter().build_request(
        QA, DEMOS, {"question": "Capital of Peru?"}, capabilities=LMCapabilities()
    )
    messages = request.messages
    assert messages is not None
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"].startswith("Answer briefly.")
    assert "Answer: ${answer}" in messages[0]["content"]
    assert messages[2]["content"] == "Answer: Paris"
    assert messages[3]["content"].startswith("Question: Capital of Peru?")


def test_completion_parse_reads_reply_after_open_label():
    assert CompletionAdapter().parse(QA, " Lima\n\nQuestion: next") == {"answer": "Lima"}


def test_chat_parse_reads_labelled_fields_in_order():
    signature = QA.prepend_output(REASONING)
    reply = "Reasoning: Peru's capital is Lima.\n**Answer:** Lima"
    assert ChatAdapter().parse(signature, reply) == {
        "reasoning": "Peru's capital is Lima.", "answer": "Lima",
    }


def test_parse_validates_types_and_names_the_field():
    signature = Signature.parse("text -> label: Literal['pos', 'neg'], score: int")
    adapter = ChatAdapter()
    assert adapter.parse(signature, "Label: Pos\nScore: 3") == {"label": "pos", "score": 3}
    with pytest.raises(FieldParseError, match="field `label`.*Literal"):
        adapter.parse(signature, "Label: maybe\nScore: 3")
    with pytest.raises(FieldParseError, match="`Score:`"):
        adapter.parse(signature, "Label: pos")


def test_list_inputs_render_as_numbered_passages():
    signature = Signature.parse("context: list[str], question -> answer")
    prompt = CompletionAdapter().build_request(
        signature, [], {"context": ["A | a", "B | b"], "question": "q"},
        capabilities=LMCapabilities(),
    ).prompt
    assert "Context:\n[1] «A | a»\n[2] «B | b»" in (prompt or "")
