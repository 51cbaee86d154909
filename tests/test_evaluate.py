import pytest

from mipro import ConfigurationError, Evaluate, EvaluationError, Example, Module, Predict
from mipro.errors import (
    BudgetExhausted,
    LMError,
    LMTimeoutError,
    LMUnavailableError,
    MetricError,
)
from mipro.lm.base import LMRequest
from mipro.testing import ScriptedLM


def echo(request: LMRequest) -> str:
    return " " + request.prompt.split("Question: ")[-1].split("\n")[0]


EXAMPLES = [Example(question=str(i), answer=str(i if i % 3 else -1)).with_inputs("question")
            for i in range(12)]


def exact_match(example, prediction):
    return example.answer == prediction.answer


def test_mean_score_and_per_example_results_in_order():
    result = Evaluate(EXAMPLES, exact_match, num_threads=4, display_progress=False)(
        Predict("question -> answer", lm=ScriptedLM(echo))
    )
    assert result.score == pytest.approx(8 / 12)
    assert [r.index for r in result.results] == list(range(12))
    assert result.num_failed == 0


def test_metric_that_raises_stops_the_evaluation_naming_the_example():
    def picky(example, prediction):
        if int(example.question) == 4:
            raise RuntimeError("metric cannot judge this one")
        return True

    with pytest.raises(MetricError) as caught:
        Evaluate(EXAMPLES, picky, num_threads=3, display_progress=False)(
            Predict("question -> answer", lm=ScriptedLM(echo))
        )
    message = str(caught.value)
    assert "RuntimeError: metric cannot judge this one" in message
    assert "devset[4]" in message and "question='4'" in message


@pytest.mark.parametrize("value", [float("nan"), None, "yes", [1], float("inf")])
def test_metric_value_that_is_no_finite_number_stops_naming_example_and_value(value):
    def broken(example, prediction):
        return value if example.question == "7" else 1.0

    with pytest.raises(MetricError) as caught:
        Evaluate(EXAMPLES, broken, display_progress=False, dataset="valset")(
            Predict("question -> answer", lm=ScriptedLM(echo))
        )
    message = str(caught.value)
    assert f"the metric returned {value!r}" in message
    assert "valset[7]" in message and "question='7'" in message


def test_bools_ints_and_numpy_numbers_are_scores():
    import numpy as np

    values = iter([True, 0, 0.5, np.float64(1.0), np.bool_(False), 1])
    result = Evaluate(EXAMPLES[:6], lambda example, prediction: next(values),
                      display_progress=False)(Predict("question -> answer", lm=ScriptedLM(echo)))
    assert [r.score for r in result.results] == [1.0, 0.0, 0.5, 1.0, 0.0, 1.0]


class Raising(Module):
    """A program whose own code raises on some questions."""

    def __init__(self, failing):
        self.predict = Predict("question -> answer", lm=ScriptedLM(echo))
        self.failing = failing

    def forward(self, question):
        if int(question) in self.failing:
            raise ValueError(f"bad row {question}")
        return self.predict(question=question)


def test_program_that_raises_scores_zero_and_is_counted_within_the_budget():
    result = Evaluate(EXAMPLES, exact_match, max_errors=3, display_progress=False)(
        Raising({1, 2}))
    assert result.program_failures == 2 and result.prompt_failures == 0
    assert [r.index for r in result.results if r.error] == [1, 2]
    assert result.score == pytest.approx(6 / 12)  # 8 right answers, 2 of them raised


def test_error_budget_stops_and_lists_failures():
    with pytest.raises(EvaluationError) as caught:
        Evaluate(EXAMPLES, exact_match, max_errors=2, display_progress=False)(
            Raising(set(range(12))))
    assert len(caught.value.failures) == 3
    assert "bad row 0" in str(caught.value)


def test_unparseable_reply_is_the_prompts_failure_scored_zero_and_not_budgeted():
    lm = ScriptedLM(lambda request: "" if "Question: 3" in request.prompt else echo(request))
    result = Evaluate(EXAMPLES, exact_match, max_errors=0, display_progress=False)(
        Predict("question -> answer: int", lm=lm))
    failed = [r for r in result.results if r.error]
    assert [(r.index, r.failure) for r in failed] == [(3, "prompt")]
    assert result.prompt_failures == 1 and result.program_failures == 0
    assert "ParseError" in failed[0].error
    assert lm.usage.snapshot().parse_failures == {"Predict(question -> answer)": 1}


@pytest.mark.parametrize("error", [LMUnavailableError("server down"), LMTimeoutError("too slow"),
                                   LMError("HTTP 400: no such model"), BudgetExhausted("spent")])
def test_lm_failure_is_never_a_score(error):
    def reply(request):
        if "Question: 5" in request.prompt:
            raise error
        return echo(request)

    with pytest.raises(type(error)) as caught:
        Evaluate(EXAMPLES, exact_match, num_threads=2, max_errors=100, display_progress=False)(
            Predict("question -> answer", lm=ScriptedLM(reply)))
    assert caught.value is error


def test_missing_input_is_an_error_naming_the_example():
    rows = [EXAMPLES[0], Example(text="x", answer="y").with_inputs("text")]
    with pytest.raises(ConfigurationError, match=r"devset\[1\].*missing input field"):
        Evaluate(rows, exact_match, display_progress=False)(
            Predict("question -> answer", lm=ScriptedLM(echo)))


def test_evaluates_only_the_given_positions():
    result = Evaluate(EXAMPLES, exact_match, display_progress=False)(
        Predict("question -> answer", lm=ScriptedLM(echo)), ids=[3, 0, 4])
    assert [r.index for r in result.results] == [0, 3, 4]
    assert result.score == pytest.approx(1 / 3)  # 0 and 3 have the answer -1


def test_metric_may_take_the_trace():
    seen = []

    def with_trace(example, prediction, trace):
        seen.append(len(trace))
        return 1.0

    Evaluate(EXAMPLES[:2], with_trace, display_progress=False)(
        Predict("question -> answer", lm=ScriptedLM(echo))
    )
    assert seen == [1, 1]
