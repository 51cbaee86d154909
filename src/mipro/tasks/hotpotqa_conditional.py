"""HotPotQA Conditional: HotPotQA whose answers must follow a format rule set by the answer type.

The rules, as in the paper's metric (DSPy's ``check_conditions``):

- person: the answer is entirely lowercase;
- place: the answer contains none of ``, . ? ! ; :``;
- date: the answer ends with "Peace!";
- other: the answer is ALL CAPS and does not end with "Peace!".

The seed program is plain ``MultiHopQA``: as in the paper, the rules are not in its instructions,
and an optimizer has to discover them from the metric.
"""

from __future__ import annotations

import dataclasses

from mipro.program import Example, Prediction
from mipro.tasks.answer_types import AnswerType, answer_type
from mipro.tasks.hotpotqa import load_hotpotqa
from mipro.tasks.metrics import exact_match
from mipro.tasks.task import Task

PEACE = "Peace!"
PLACE_FORBIDDEN = ",.?!;:"


def follows_format(answer: str, kind: AnswerType) -> bool:
    """Whether ``answer`` follows the format rule of its answer type."""
    if kind == "person":
        return answer == answer.lower()
    if kind == "place":
        return not any(char in answer for char in PLACE_FORBIDDEN)
    if kind == "date":
        return answer.endswith(PEACE)
    return answer == answer.upper() and not answer.endswith(PEACE)


def conditional_match(example: Example, prediction: Prediction) -> bool:
    """The answer is correct (exact match once a final "Peace!" is removed) and follows its rule."""
    answer = str(prediction.answer).strip()
    content = answer.removesuffix(PEACE)
    return exact_match(content, example.answers) and follows_format(answer, example.answer_type)


def with_answer_type(example: Example) -> Example:
    """``example`` with an ``answer_type`` field assigned by ``answer_type``."""
    kind = answer_type(example.question, example.answer)
    return Example({**example, "answer_type": kind}).with_inputs(*example.input_keys)


def load_hotpotqa_conditional() -> Task:
    """The ``hotpotqa`` task (same program and splits) with typed examples and the format metric."""
    hotpotqa = load_hotpotqa()
    return dataclasses.replace(
        hotpotqa,
        name="hotpotqa_conditional",
        description="HotPotQA whose answers must follow a format rule set by the answer type "
        "(person: lowercase; place: no punctuation; date: ends with 'Peace!'; other: ALL CAPS).",
        trainset=[with_answer_type(example) for example in hotpotqa.trainset],
        valset=[with_answer_type(example) for example in hotpotqa.valset],
        testset=[with_answer_type(example) for example in hotpotqa.testset],
        metric=conditional_match,
    )
