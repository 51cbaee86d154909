"""The task programs on a scripted LM: their calls, data flow and predictions."""

import pytest

from mipro import BM25Index, Example, using_lm
from mipro.lm.base import LMRequest
from mipro.tasks import load_task
from mipro.tasks.heart_disease import HeartDiseaseEnsemble
from mipro.tasks.hotpotqa import MultiHopQA
from mipro.tasks.hover import HoverMultiHop, all_gold_passages_retrieved
from mipro.tasks.iris import TYPO_INSTRUCTIONS
from mipro.testing import ScriptedLM

PASSAGES = [
    "ASAP Rocky | Rakim Mayers, known as ASAP Rocky, is a rapper from Harlem.",
    "Vicious Lies and Dangerous Rumors | An album by Big Sean featuring ASAP Rocky.",
    "Harlem | Harlem is a neighborhood in Manhattan, New York City.",
    "Lima | Lima is the capital of Peru.",
    "Peru | Peru is a country in South America.",
    "Andes | The Andes run through Peru.",
]


@pytest.fixture(scope="module")
def index() -> BM25Index:
    return BM25Index(PASSAGES)


def test_multihop_qa_makes_two_queries_then_answers_from_the_passages(index):
    queries = iter(["Vicious Lies and Dangerous Rumors album", "ASAP Rocky rapper Harlem"])

    def reply(request: LMRequest) -> str:
        if "\nSearch Query:" in request.prompt:
            return f" Find it.\nSearch Query: {next(queries)}"
        return " ASAP Rocky is Rakim Mayers.\nAnswer: Rakim Mayers"

    lm = ScriptedLM(reply)
    program = MultiHopQA(index, passages_per_hop=2)
    with using_lm(lm):
        prediction = program(question="Which rapper from Harlem was featured on the album?")
    assert len(lm.requests) == 3
    assert prediction.answer == "Rakim Mayers"
    assert PASSAGES[1] in prediction.context and PASSAGES[0] in prediction.context
    assert len(prediction.context) == len(set(prediction.context)) <= 4
    hop1, hop2, answer = (request.prompt for request in lm.requests)
    assert "Context: N/A" in hop1
    assert "Vicious Lies and Dangerous Rumors | An album" in hop2
    assert all(passage.split(" | ")[0] in answer for passage in prediction.context)
    names = [name for name, _ in program.named_predictors()]
    assert names == ["generate_query", "generate_answer"]


def test_hover_program_collects_passages_over_three_hops(index):
    queries = iter(["ASAP Rocky", "Harlem neighborhood", "Vicious Lies album"])
    lm = ScriptedLM(lambda request: f" Search.\nQuery: {next(queries)}")
    program = HoverMultiHop(index, passages_per_hop=1)
    with using_lm(lm):
        prediction = program(claim="The rapper on Vicious Lies is from Harlem.")
    assert len(lm.requests) == 3
    assert [p.split(" | ")[0] for p in prediction.retrieved_passages] == [
        "ASAP Rocky", "Harlem", "Vicious Lies and Dangerous Rumors"
    ]
    assert "ASAP Rocky | Rakim" in lm.requests[1].prompt  # hop 2 sees the hop-1 passage
    example = Example(claim="c", gold_titles=["Harlem", "ASAP Rocky"]).with_inputs("claim")
    assert all_gold_passages_retrieved(example, prediction)
    missing = Example(claim="c", gold_titles=["Harlem", "Lima"]).with_inputs("claim")
    assert not all_gold_passages_retrieved(missing, prediction)
    assert [name for name, _ in program.named_predictors()] == [
        "create_query_hop1", "create_query_hop2", "create_query_hop3"
    ]


@pytest.mark.parametrize("name", ["iris", "iris_typo"])
def test_iris_program_predicts_a_species(name):
    task = load_task(name)
    lm = ScriptedLM([" Petals are tiny.\nAnswer: setosa"])
    example = task.testset[0]
    with using_lm(lm):
        prediction = task.make_program()(**example.inputs())
    assert prediction.answer == "setosa"
    prompt = lm.requests[0].prompt
    assert f"Petal Length: {example.petal_length}" in prompt
    assert ("versicolour" in prompt) is (name == "iris_typo")
    assert task.metric(example, prediction) == (example.answer == "setosa")


def test_iris_typo_seed_instruction_is_the_misspelled_one():
    program = load_task("iris_typo").make_program()
    assert program.predict.signature.instructions == TYPO_INSTRUCTIONS


def test_heart_disease_ensemble_asks_three_classifiers_then_the_judge():
    task = load_task("heart_disease")
    answers = iter(["yes", "no", "yes", "yes"])
    lm = ScriptedLM(lambda request: f" The patient has chest pain.\nAnswer: {next(answers)}")
    example = task.testset[0]
    with using_lm(lm):
        prediction = HeartDiseaseEnsemble()(**example.inputs())
    assert prediction.answer == "yes"
    assert len(lm.requests) == 4
    assert [request.temperature for request in lm.requests] == pytest.approx([0.7, 0.71, 0.72, 0.0])
    judge_prompt = lm.requests[3].prompt
    assert judge_prompt.count("Hence, my answer is") == 3
    assert "The patient has chest pain. Hence, my answer is no." in judge_prompt
    assert f"Cp: {example.cp}" in judge_prompt
    assert task.metric(example, prediction) == (example.answer == "yes")


def test_scone_program_answers_yes_or_no():
    task = load_task("scone")
    lm = ScriptedLM([" The negation flips it.\nAnswer: No."])
    example = task.testset[0]
    with using_lm(lm):
        prediction = task.make_program()(**example.inputs())
    assert prediction.answer == "No"
    assert "Can we logically conclude for sure that" in lm.requests[0].prompt
    assert task.metric(example, prediction) == (example.answer == "No")
