import pytest

from mipro import Example, Prediction
from mipro.tasks.hotpotqa_conditional import conditional_match, follows_format, with_answer_type


@pytest.mark.parametrize(("answer", "ok"), [
    ("bill murray", True), ("Bill Murray", False), ("o'brien, jr.", True), ("BILL", False),
])
def test_person_answers_must_be_all_lowercase(answer, ok):
    assert follows_format(answer, "person") is ok


@pytest.mark.parametrize(("answer", "ok"), [
    ("Bangor Maine", True), ("Bangor, Maine", False), ("St. Louis", False), ("Lima!", False),
    ("Lima?", False), ("Lima;", False), ("Lima: Peru", False), ("Greenwich Village (NYC)", True),
])
def test_place_answers_must_have_no_punctuation_from_the_papers_list(answer, ok):
    assert follows_format(answer, "place") is ok


@pytest.mark.parametrize(("answer", "ok"), [
    ("8 June 1951 Peace!", True), ("8 June 1951", False), ("8 June 1951 peace!", False),
    ("Peace! 8 June 1951", False),
])
def test_date_answers_must_end_with_peace(answer, ok):
    assert follows_format(answer, "date") is ok


@pytest.mark.parametrize(("answer", "ok"), [
    ("RAWHIDE", True), ("Rawhide", False), ("1984", True), ("YES", True),
    ("RAWHIDE Peace!", False), ("RAWHIDE PEACE!", True),
])
def test_other_answers_must_be_all_caps_and_not_end_with_peace(answer, ok):
    assert follows_format(answer, "other") is ok


def _example(answer: str, kind: str) -> Example:
    return Example(question="q", answer=answer, answers=[answer], answer_type=kind).with_inputs(
        "question"
    )


@pytest.mark.parametrize(("gold", "kind", "predicted", "score"), [
    ("Bill Murray", "person", "bill murray", True),
    ("Bill Murray", "person", "Bill Murray", False),  # right answer, wrong format
    ("Bill Murray", "person", "tom hanks", False),  # right format, wrong answer
    ("Bangor, Maine", "place", "Bangor Maine", True),
    ("Bangor, Maine", "place", "Bangor, Maine", False),
    ("8 June 1951", "date", "8 June 1951 Peace!", True),  # DSPy's version could never score this
    ("8 June 1951", "date", "8 June 1951", False),
    ("Rawhide", "other", "RAWHIDE", True),
    ("Rawhide", "other", "THE RAWHIDE", True),
    ("Rawhide", "other", "rawhide", False),
])
def test_conditional_match_needs_the_right_answer_in_the_right_format(gold, kind, predicted, score):
    assert conditional_match(_example(gold, kind), Prediction(answer=predicted)) is score


def test_conditional_match_accepts_any_gold_answer():
    example = Example(question="q", answer="NYC", answers=["NYC", "New York City"],
                      answer_type="place")
    assert conditional_match(example, Prediction(answer="new york city"))


def test_with_answer_type_adds_the_type_and_keeps_inputs():
    example = Example(question="Who wrote it?", answer="Ann Lee", answers=["Ann Lee"]).with_inputs(
        "question"
    )
    typed = with_answer_type(example)
    assert typed.answer_type == "person"
    assert typed.input_keys == ("question",)
    assert typed.answer == "Ann Lee"
