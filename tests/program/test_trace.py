import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from mipro import Module, Predict, Prediction, tracing
from mipro.lm.base import LMRequest
from mipro.testing import ScriptedLM


class TwoHop(Module):
    def __init__(self, lm):
        self.query = Predict("question -> search_query", lm=lm)
        self.answer = Predict("question, search_query -> answer", lm=lm)

    def forward(self, question):
        query = self.query(question=question).search_query
        return Prediction(answer=self.answer(question=question, search_query=query).answer)


def echo_question(request: LMRequest) -> str:
    question = request.prompt.split("Question: ")[-1].split("\n")[0]
    return f" {question}"


def test_each_thread_sees_only_its_own_calls():
    program = TwoHop(ScriptedLM(echo_question))
    program.named_predictors()
    barrier = threading.Barrier(8)

    def run(question: str):
        with tracing() as steps:
            barrier.wait()
            program(question=question)
            program(question=question)
        return question, steps

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(contextvars.copy_context().run, run, f"q{i}") for i in range(8)]
        outcomes = [future.result() for future in futures]
    for question, steps in outcomes:
        assert [step.predictor.name for step in steps] == ["query", "answer"] * 2
        assert all(step.inputs["question"] == question for step in steps)
        assert steps[1].outputs == {"answer": question}


def test_nested_trace_is_also_recorded_in_outer_trace():
    predict = Predict("question -> answer", lm=ScriptedLM([" a", " b"]))
    with tracing() as outer:
        predict(question="1")
        with tracing() as inner:
            predict(question="2")
    assert len(inner) == 1 and len(outer) == 2


def test_no_trace_outside_tracing():
    predict = Predict("question -> answer", lm=ScriptedLM([" a"]))
    predict(question="1")  # no active trace: nothing is kept, nothing fails
