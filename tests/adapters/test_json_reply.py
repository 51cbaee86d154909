import json
from typing import Literal

import pydantic
import pytest

from mipro import ChainOfThought, InputField, OutputField, Predict, Signature
from mipro.adapters import ChatAdapter, CompletionAdapter, FieldParseError
from mipro.adapters.json_reply import reply_schema
from mipro.lm.base import LMCapabilities
from mipro.signatures import ensure_signature
from mipro.testing import ScriptedLM

SERVER = LMCapabilities(json_schema=True)


class Item(pydantic.BaseModel):
    name: str
    price: float


class Order(Signature):
    """Read the order."""

    text: str = InputField()
    items: list[Item] = OutputField()
    total: float = OutputField()
    status: Literal["open", "paid"] = OutputField()


def test_reply_schema_has_every_output_required_in_order():
    schema = reply_schema(ensure_signature(Order))
    assert list(schema["properties"]) == ["items", "total", "status"]
    assert schema["required"] == ["items", "total", "status"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["status"]["enum"] == ["open", "paid"]
    assert schema["properties"]["total"]["type"] == "number"
    assert schema["properties"]["items"]["items"] == {"$ref": "#/$defs/Item"}
    assert set(schema["$defs"]["Item"]["properties"]) == {"name", "price"}


@pytest.mark.parametrize("adapter", [ChatAdapter(), CompletionAdapter()])
def test_structured_output_servers_get_a_json_schema_and_no_grammar(adapter):
    signature = Signature.parse("question -> answer: int")
    request = adapter.build_request(signature, [], {"question": "1+1?"}, capabilities=SERVER)
    assert request.grammar is None
    assert request.json_schema == reply_schema(signature)


def test_chat_prompt_asks_for_json_and_shows_demos_as_json():
    signature = Signature.parse("question -> answer: Literal['yes', 'no']")
    demos = [{"question": "Is water wet?", "answer": "yes"}]
    request = ChatAdapter().build_request(signature, demos, {"question": "q"}, capabilities=SERVER)
    messages = request.messages
    assert messages is not None
    assert 'JSON object with these keys' in messages[0]["content"]
    assert '"answer": ${answer} (exactly one of: yes, no)' in messages[0]["content"]
    assert json.loads(messages[2]["content"]) == {"answer": "yes"}
    assert "`answer`" in messages[-1]["content"]


def test_json_reply_is_parsed_into_typed_values():
    reply = '{"items": [{"name": "tea", "price": 2.5}], "total": "2.5", "status": "Paid"}'
    assert ChatAdapter().parse(ensure_signature(Order), reply) == {
        "items": [Item(name="tea", price=2.5)], "total": 2.5, "status": "paid",
    }


def test_json_reply_in_a_code_fence_is_parsed():
    signature = Signature.parse("q -> ok: bool, n: int")
    reply = '```json\n{"ok": true, "n": 3}\n```'
    assert ChatAdapter().parse(signature, reply) == {"ok": True, "n": 3}


def test_json_reply_missing_a_key_names_the_field():
    signature = Signature.parse("q -> ok: bool, n: int")
    with pytest.raises(FieldParseError, match="field `n`.*no `n` key"):
        ChatAdapter().parse(signature, '{"ok": true}')


def test_json_reply_with_an_invalid_value_names_the_field_and_type():
    signature = Signature.parse("q -> status: Literal['open', 'paid']")
    with pytest.raises(FieldParseError, match="field `status` .expected Literal.*closed"):
        ChatAdapter().parse(signature, '{"status": "closed"}')


def test_a_reply_that_is_not_json_falls_back_to_labelled_lines():
    signature = Signature.parse("q -> ok: bool, n: int")
    assert ChatAdapter().parse(signature, "Ok: yes\nN: 4") == {"ok": True, "n": 4}
    assert CompletionAdapter().parse(signature, " yes\nN: 4") == {"ok": True, "n": 4}


def test_a_json_value_of_a_dict_field_is_not_mistaken_for_a_json_reply():
    signature = Signature.parse("q -> data: dict")
    assert CompletionAdapter().parse(signature, ' {"a": 1}') == {"data": {"a": 1}}


def test_chain_of_thought_on_a_structured_output_server_reads_json():
    lm = ScriptedLM(['{"reasoning": "2 and 3 make 5.", "answer": 5}'], prompt_format="chat",
                    capabilities=SERVER)
    prediction = ChainOfThought("question -> answer: int", lm=lm)(question="2+3?")
    assert (prediction.reasoning, prediction.answer) == ("2 and 3 make 5.", 5)
    assert list(lm.requests[0].json_schema["properties"]) == ["reasoning", "answer"]


def test_predict_reads_labelled_lines_from_a_server_that_ignored_the_schema():
    lm = ScriptedLM(["Answer: 7"], prompt_format="chat", capabilities=SERVER)
    assert Predict("question -> answer: int", lm=lm)(question="3+4?").answer == 7
