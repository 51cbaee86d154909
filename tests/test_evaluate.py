import pytest

from mipro import Evaluate, EvaluationError, Example, Predict
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


def test_metric_that_raises_scores_zero_and_is_reported():
    def picky(example, prediction):
        if int(example.question) % 4 == 0:
            raise RuntimeError("metric cannot judge this one")
        return True

    result = Evaluate(EXAMPLES, picky, num_threads=3, display_progress=False)(
        Predict("question -> answer", lm=ScriptedLM(echo))
    )
    assert result.num_failed == 3
    assert result.score == pytest.approx(9 / 12)
    failed = [r for r in result.results if r.error]
    assert [r.index for r in failed] == [0, 4, 8]
    assert "metric cannot judge this one" in failed[0].error


def test_error_budget_stops_and_lists_failures():
    def always_fails(example, prediction):
        raise ValueError(f"bad row {example.question}")

    with pytest.raises(EvaluationError) as caught:
        Evaluate(EXAMPLES, always_fails, max_errors=2, display_progress=False)(
            Predict("question -> answer", lm=ScriptedLM(echo))
        )
    assert len(caught.value.failures) == 3
    assert "bad row 0" in str(caught.value)


def test_metric_may_take_the_trace():
    seen = []

    def with_trace(example, prediction, trace):
        seen.append(len(trace))
        return 1.0

    Evaluate(EXAMPLES[:2], with_trace, display_progress=False)(
        Predict("question -> answer", lm=ScriptedLM(echo))
    )
    assert seen == [1, 1]
