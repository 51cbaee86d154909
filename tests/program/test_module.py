import pytest

from mipro import Example
from mipro.testing import ScriptedLM
from tests.program.test_trace import TwoHop


def test_named_predictors_lists_paths_in_order():
    program = TwoHop(ScriptedLM([]))
    assert [name for name, _ in program.named_predictors()] == ["query", "answer"]


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
