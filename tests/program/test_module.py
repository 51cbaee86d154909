import json

import pytest

from mipro import ConfigurationError, Example
from mipro.testing import ScriptedLM
from tests.program.test_trace import TwoHop


def test_named_predictors_lists_paths_in_order():
    program = TwoHop(ScriptedLM([]))
    assert [name for name, _ in program.named_predictors()] == ["query", "answer"]


def test_save_load_round_trip_of_two_modules(tmp_path):
    program = TwoHop(ScriptedLM([]))
    program.query.signature = program.query.signature.with_instructions("Write a search query.")
    program.answer.demos = [Example(question="q", search_query="s", answer="a")]
    path = tmp_path / "program.json"
    program.save(path)
    saved = json.loads(path.read_text())
    assert saved["query"]["instructions"] == "Write a search query."
    assert saved["answer"]["demos"] == [{"question": "q", "search_query": "s", "answer": "a"}]

    fresh = TwoHop(ScriptedLM([])).load(path)
    assert fresh.query.signature.instructions == "Write a search query."
    assert [dict(d) for d in fresh.answer.demos] == [dict(d) for d in program.answer.demos]
    assert fresh.dump_state() == program.dump_state()


def test_load_names_unknown_predictors_and_file(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"rewrite": {"instructions": "x", "demos": []}}))
    with pytest.raises(ConfigurationError, match=r"other.json.*\['rewrite'\]"):
        TwoHop(ScriptedLM([])).load(path)


def test_deepcopy_is_independent_but_shares_the_lm():
    lm = ScriptedLM([])
    program = TwoHop(lm)
    copy = program.deepcopy()
    copy.query.demos.append(Example(question="q", search_query="s"))
    assert program.query.demos == []
    assert copy.query.lm is lm


def test_example_inputs_and_labels():
    example = Example(question="q", answer="a").with_inputs("question")
    assert example.inputs() == {"question": "q"}
    assert example.labels() == {"answer": "a"}
    with pytest.raises(KeyError):
        Example(question="q").with_inputs("context")
