import pytest

from mipro import ChainOfThought, ContextWindowError, ParseError, Predict
from mipro.lm.base import LMRequest
from mipro.testing import ScriptedLM


def test_predict_returns_parsed_prediction():
    lm = ScriptedLM([" Lima"])
    prediction = Predict("question -> answer", lm=lm)(question="Capital of Peru?")
    assert prediction.answer == "Lima"
    assert lm.usage.calls == 1


def test_chain_of_thought_adds_reasoning_before_answer():
    lm = ScriptedLM([" It is Lima.\nAnswer: Lima"])
    cot = ChainOfThought("question -> answer", lm=lm)
    assert cot.signature.output_names == ("reasoning", "answer")
    prediction = cot(question="Capital of Peru?")
    assert (prediction.reasoning, prediction.answer) == ("It is Lima.", "Lima")
    assert lm.requests[0].prompt.endswith("Reasoning:")


def test_unparseable_reply_is_retried_once_with_a_reminder():
    lm = ScriptedLM(["Label: maybe", "Label: neg"], prompt_format="chat")
    predict = Predict("text -> label: Literal['pos', 'neg']", lm=lm)
    assert predict(text="bad").label == "neg"
    assert len(lm.requests) == 2
    retry = lm.requests[1].messages[-1]["content"]
    assert "previous reply was invalid" in retry and "`Label:`" in retry
    assert lm.usage.snapshot().parse_retries == {predict.display_name: 1}


def test_parse_error_after_retry_carries_module_and_raw_reply():
    lm = ScriptedLM(["nonsense", "still nonsense"], prompt_format="chat")
    predict = Predict("question -> answer: int", lm=lm)
    predict.name = "solve"
    with pytest.raises(ParseError) as caught:
        predict(question="1+1?")
    assert caught.value.module == "solve"
    assert caught.value.raw_reply == "still nonsense"
    assert caught.value.field == "answer"
    assert "solve" in str(caught.value) and "still nonsense" in str(caught.value)
    assert lm.usage.snapshot().parse_failures == {"solve": 1}


def test_missing_input_names_the_field():
    predict = Predict("context, question -> answer", lm=ScriptedLM([]))
    with pytest.raises(ValueError, match=r"missing input field\(s\) \['context'\]"):
        predict(question="q")


def test_context_window_error_names_the_module():
    def overflow(request: LMRequest) -> str:
        raise ContextWindowError("too long", prompt_tokens=5000, context_window=2048)

    predict = Predict("question -> answer", lm=ScriptedLM(overflow))
    predict.name = "generate_answer"
    with pytest.raises(ContextWindowError, match="generate_answer.*5000 tokens.*2048"):
        predict(question="q")
