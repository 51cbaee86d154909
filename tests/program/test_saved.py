"""Saved programs: typed signatures and metadata are written, and mismatched files are refused."""

import json
import re
from datetime import datetime, timezone
from typing import Literal

import pytest

import mipro
from mipro import ChainOfThought, ConfigurationError, Example, InputField, Module, OutputField, Predict, Signature
from mipro.testing import ScriptedLM
from tests.program.test_trace import TwoHop


class Review(Signature):
    """Classify the sentiment of a review."""

    text: str = InputField(desc="a product review")
    label: Literal["positive", "negative"] = OutputField(desc="the sentiment")


class Classifier(Module):
    def __init__(self, signature=Review, lm=None):
        self.classify = ChainOfThought(signature, lm=lm)

    def forward(self, text):
        return self.classify(text=text)


def optimized_two_hop() -> TwoHop:
    program = TwoHop(ScriptedLM([]))
    program.query.signature = program.query.signature.with_instructions("Write a search query.")
    program.answer.demos = [Example(question="q", search_query="s", answer="a")]
    return program


def test_save_load_round_trip_of_two_modules(tmp_path):
    program = optimized_two_hop()
    path = tmp_path / "program.json"
    program.save(path)
    saved = json.loads(path.read_text())
    assert saved["predictors"]["query"]["signature"]["instructions"] == "Write a search query."
    assert saved["predictors"]["answer"]["demos"] == [
        {"question": "q", "search_query": "s", "answer": "a"}]

    fresh = TwoHop(ScriptedLM([])).load(path)
    assert fresh.query.signature.instructions == "Write a search query."
    assert [dict(d) for d in fresh.answer.demos] == [dict(d) for d in program.answer.demos]
    assert fresh.dump_state() == program.dump_state()


def test_saved_file_carries_typed_signature_and_metadata(tmp_path):
    path = tmp_path / "classifier.json"
    before = datetime.now(timezone.utc).replace(microsecond=0)
    Classifier(lm=ScriptedLM([], model_id="scripted-7b")).save(
        path, run_name="reviews-v1", scores={"validation": 0.75, "test": 0.7})
    saved = json.loads(path.read_text())
    assert saved["format"] == "mipro.program" and saved["format_version"] == 2
    assert saved["program"] == "Classifier" and saved["mipro_version"] == mipro.__version__
    assert saved["run_name"] == "reviews-v1" and saved["lm"] == "scripted-7b"
    assert saved["scores"] == {"validation": 0.75, "test": 0.7}
    assert before <= datetime.fromisoformat(saved["saved_at"]) <= datetime.now(timezone.utc)

    signature = saved["predictors"]["classify"]["signature"]
    assert signature["instructions"] == "Classify the sentiment of a review."
    assert signature["inputs"] == [
        {"name": "text", "type": "str", "desc": "a product review", "prefix": "Text"}]
    reasoning, label = signature["outputs"]
    assert reasoning["name"] == "reasoning"
    assert label["name"] == "label" and label["desc"] == "the sentiment"
    assert label["type"] == "Literal['positive', 'negative']"
    assert label["values"] == ["positive", "negative"]
    assert label["json_schema"] == {"enum": ["positive", "negative"], "type": "string"}
    assert saved["predictors"]["classify"]["max_tokens"] == 256


def test_lm_identity_is_left_out_when_unknown_or_mixed(tmp_path):
    path = tmp_path / "p.json"
    Classifier().save(path)
    assert json.loads(path.read_text())["lm"] is None
    program = TwoHop(ScriptedLM([], model_id="a"))
    program.answer.lm = ScriptedLM([], model_id="b")
    program.save(path)
    assert json.loads(path.read_text())["lm"] is None
    program.save(path, lm="openai:http://x/v1:gpt")
    assert json.loads(path.read_text())["lm"] == "openai:http://x/v1:gpt"


def test_load_names_the_file_and_the_predictors_that_differ(tmp_path):
    path = tmp_path / "other.json"
    optimized_two_hop().save(path)
    with pytest.raises(ConfigurationError,
                       match=r"other.json: saved predictors \['answer', 'query'\] do not match "
                             r"Classifier's \['classify'\]"):
        Classifier().load(path)


def test_load_refuses_a_different_signature_and_says_what_differs(tmp_path):
    path = tmp_path / "reviews.json"
    Classifier().save(path)
    three_labels = Signature.parse("text -> label: Literal['positive', 'negative', 'mixed']")
    with pytest.raises(ConfigurationError) as error:
        Classifier(three_labels).load(path)
    message = str(error.value)
    assert message.startswith(f"{path}: the signature of predictor `classify` differs")
    assert "output `label` type: saved \"Literal['positive', 'negative']\", the program has " \
           "\"Literal['positive', 'negative', 'mixed']\"" in message
    assert "input `text` description: saved 'a product review', the program has ''" in message

    renamed = Signature.parse("review -> label: Literal['positive', 'negative']")
    with pytest.raises(ConfigurationError, match=r"inputs: saved \['text'\], the program has \['review'\]"):
        Classifier(renamed).load(path)


def test_load_keeps_the_program_unchanged_when_refusing(tmp_path):
    path = tmp_path / "two.json"
    optimized_two_hop().save(path)
    data = json.loads(path.read_text())
    data["predictors"]["answer"]["signature"]["outputs"][0]["type"] = "int"
    path.write_text(json.dumps(data))
    program = TwoHop(ScriptedLM([]))
    with pytest.raises(ConfigurationError, match="output `answer` type: saved 'int'"):
        program.load(path)
    assert program.query.signature.instructions != "Write a search query."


def test_an_older_format_file_is_a_clear_error(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({
        "query": {"signature": "question -> search_query", "instructions": "x", "demos": []},
        "answer": {"signature": "question, search_query -> answer", "instructions": "y",
                   "demos": []},
    }))
    with pytest.raises(ConfigurationError, match=re.escape(
            f"{path}: saved by an older mipro (saved-program format 1")):
        TwoHop(ScriptedLM([])).load(path)


@pytest.mark.parametrize(("change", "message"), [
    ({"format_version": 3, "mipro_version": "9.0"},
     r"saved-program format 3 \(written by mipro 9.0\); mipro .* reads format 2; upgrade mipro"),
    ({"format": "something-else"}, r"not a mipro saved program"),
    ({"predictors": {"query": {"demos": []}}}, r"`predictors` must map each predictor"),
])
def test_a_newer_or_foreign_file_is_a_clear_error(tmp_path, change, message):
    path = tmp_path / "p.json"
    optimized_two_hop().save(path)
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(ConfigurationError, match=f"{re.escape(str(path))}: {message}"):
        TwoHop(ScriptedLM([])).load(path)


def test_missing_or_broken_files_name_the_path(tmp_path):
    with pytest.raises(ConfigurationError, match="nope.json: no such saved-program file"):
        TwoHop(ScriptedLM([])).load(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigurationError, match="broken.json: not valid JSON"):
        TwoHop(ScriptedLM([])).load(broken)


def test_a_predict_program_loads_what_it_saved_with_typed_demos(tmp_path):
    predict = Predict("question -> answer: int, sure: bool")
    predict.demos = [Example(question="1+1", answer=2, sure=True)]
    path = tmp_path / "predict.json"
    predict.save(path)
    loaded = Predict("question -> answer: int, sure: bool").load(path)
    assert [dict(d) for d in loaded.demos] == [{"question": "1+1", "answer": 2, "sure": True}]
