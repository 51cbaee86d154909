"""Exported prompts are the prompts mipro sends, with the inputs left as placeholders."""

import json
from typing import Literal

import pydantic
import pytest

from mipro import ChainOfThought, ConfigurationError, Example, InputField, Module, OutputField, Predict, Signature
from mipro.adapters import ChatAdapter, CompletionAdapter
from mipro.export import export_program, load_prompts
from mipro.lm import LMCapabilities
from mipro.testing import ScriptedLM


class Verdict(pydantic.BaseModel):
    label: Literal["spam", "ham"]
    confidence: float


class Triage(Signature):
    """Sort the {incoming} mail; reply in JSON when asked."""

    subject: str = InputField(desc="the subject line")
    body: str = InputField()
    verdict: Verdict = OutputField()
    tags: list[str] = OutputField(desc="short tags")


class Mailroom(Module):
    def __init__(self):
        self.triage = Predict(Triage, max_tokens=80, temperature=0.2)
        self.reply = ChainOfThought("subject, tags: list[str] -> reply, urgent: bool")

    def forward(self, subject, body):
        triage = self.triage(subject=subject, body=body)
        return self.reply(subject=subject, tags=triage.tags)


INPUTS = {
    "triage": {"subject": "Win {big} now", "body": "A body with } a brace."},
    "reply": {"subject": "Meeting", "tags": ["work"]},
}
FILLED = {  # the values as the export's docs say to write them: a list of strings is numbered
    "triage": INPUTS["triage"],
    "reply": {"subject": "Meeting", "tags": "[1] «work»"},
}


@pytest.fixture
def saved_mailroom(tmp_path):
    program = Mailroom()
    program.triage.demos = [Example(subject="Hi", body="Lunch?",
                                    verdict={"label": "ham", "confidence": 0.9}, tags=["social"])]
    program.reply.demos = [Example(subject="Invoice", tags=["billing"], reasoning="It is a bill.",
                                   reply="Paid.", urgent=False)]
    program.reply.signature = program.reply.signature.with_instructions("Reply {politely}.")
    path = tmp_path / "mailroom.json"
    program.save(path, run_name="mail-v2")
    return program, path


def test_openai_messages_filled_in_equal_the_chat_adapter_request(saved_mailroom):
    program, path = saved_mailroom
    exported = json.loads(export_program(path, "openai-messages"))
    assert list(exported) == ["triage", "reply"]
    for name, predictor in program.named_predictors():
        entry = exported[name]
        filled = entry["messages"] + [
            {"role": "user", "content": entry["user_template"].format(**FILLED[name])}]
        assert filled == ChatAdapter().format_messages(predictor.signature, predictor.demos,
                                                       INPUTS[name])
        assert entry["inputs"] == list(predictor.signature.input_names)
        assert [field["prefix"] for field in entry["reply_fields"]] == [
            field.label for field in predictor.signature.output_fields]
    assert exported["triage"]["temperature"] == 0.2 and exported["triage"]["max_tokens"] == 80
    assert exported["triage"]["reply_fields"][0]["json_schema"]["properties"]["label"]["enum"] == [
        "spam", "ham"]


def test_exported_messages_are_what_a_chat_lm_receives(saved_mailroom):
    program, path = saved_mailroom
    lm = ScriptedLM(["Reasoning: r\nReply: ok\nUrgent: no"], prompt_format="chat",
                    capabilities=LMCapabilities())
    program.reply.lm = lm
    program.reply(**INPUTS["reply"])
    entry = json.loads(export_program(path, "openai-messages"))["reply"]
    sent = list(lm.requests[0].messages)
    assert sent[:-1] == entry["messages"]
    assert sent[-1]["content"] == entry["user_template"].format(**FILLED["reply"])


def test_json_export_carries_metadata_signature_and_both_prompt_forms(saved_mailroom):
    program, path = saved_mailroom
    exported = json.loads(export_program(path, "json"))
    assert exported["program"] == "Mailroom" and exported["run_name"] == "mail-v2"
    triage = exported["predictors"]["triage"]
    saved = json.loads(path.read_text())["predictors"]["triage"]
    assert triage["signature"] == saved["signature"]
    assert triage["demos"] == saved["demos"]
    predictor = program.triage
    assert triage["completion_template"].format(**INPUTS["triage"]) == \
        CompletionAdapter().format_prompt(predictor.signature, predictor.demos, INPUTS["triage"])
    assert triage["chat"]["user_template"] == \
        json.loads(export_program(path, "openai-messages"))["triage"]["user_template"]


def test_text_export_shows_each_prompt_with_readable_placeholders(saved_mailroom):
    program, path = saved_mailroom
    text = export_program(path, "text")
    assert text.index("# triage (Mailroom") < text.index("# reply (Mailroom")
    assert "run mail-v2" in text
    assert "Sort the {incoming} mail" in text and "{{" not in text
    assert "Subject: {subject}\nBody: {body}\nVerdict:" in text
    assert "Reply {politely}." in text


def test_a_model_type_from_user_code_is_rendered_by_name(saved_mailroom):
    _, path = saved_mailroom
    _, prompts = load_prompts(path)
    assert "(JSON of type Verdict)" in prompts[0].chat_messages()[0]["content"]


def test_export_of_a_file_that_is_not_a_saved_program_names_it(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigurationError, match="notes.json: not a mipro saved program"):
        export_program(path, "text")
