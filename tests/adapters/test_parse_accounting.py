import pytest

from mipro import Module, ParseError, Predict, Prediction
from mipro.lm.base import LMRequest
from mipro.testing import ScriptedLM


class Classify(Module):
    def __init__(self, lm):
        self.topic = Predict("text -> topic", lm=lm)
        self.label = Predict("text, topic -> label: Literal['pos', 'neg']", lm=lm)

    def forward(self, text):
        topic = self.topic(text=text).topic
        return Prediction(label=self.label(text=text, topic=topic).label)


def script(request: LMRequest) -> str:
    """Topics always parse; labels are garbled once for 'retry' and always for 'fail'."""
    prompt = request.prompt or ""
    if prompt.endswith("Topic:"):
        return " films"
    text = prompt.split("Text: ")[-1].split("\n")[0]
    retrying = "previous reply was invalid" in prompt
    if text == "fail" or (text == "retry" and not retrying):
        return " maybe"
    return " pos"


def test_usage_counts_parse_retries_and_failures_per_predictor():
    lm = ScriptedLM(script)
    program = Classify(lm)
    program.named_predictors()
    before = lm.usage.snapshot()

    assert program(text="fine").label == "pos"
    assert program(text="retry").label == "pos"
    with pytest.raises(ParseError, match="label"):
        program(text="fail")

    used = lm.usage.snapshot() - before
    assert used.parse_retries == {"label": 2}
    assert used.parse_failures == {"label": 1}
    # topic 3 times, label 1 + 2 + 2 times
    assert used.calls == 8
    assert used.as_dict()["parse_retries"] == {"label": 2}
