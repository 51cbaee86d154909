"""ScoNe: natural language inference under negation, asked as a Yes/No question."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from mipro.program import ChainOfThought, Example, Module, Prediction
from mipro.signatures import InputField, OutputField, Signature
from mipro.tasks.files import data_file, read_csv, shuffled, split, text_field
from mipro.tasks.metrics import answer_exact_match
from mipro.tasks.task import Task

TRAIN_SIZE = 500
VAL_SIZE = 500
TEST_SIZE = 500
SPLIT_SEED = 1
CATEGORIES = (
    "no_negation", "one_not_scoped", "one_scoped", "one_scoped_one_not_scoped", "two_not_scoped",
    "two_scoped",
)


class ScoNeSignature(Signature):
    """Given a context, answer whether the question's statement logically follows from it."""

    context: str = InputField()
    question: str = InputField()
    answer: Literal["Yes", "No"] = OutputField(desc="Yes or No")


class ScoNeCoT(Module):
    """One chain-of-thought call from context and question to Yes or No."""

    def __init__(self) -> None:
        self.generate_answer = ChainOfThought(ScoNeSignature)

    def forward(self, context: str, question: str) -> Prediction:  # type: ignore[override]
        return self.generate_answer(context=context, question=question)


def question_from_hypothesis(hypothesis: str) -> str:
    """The paper's question: "Can we logically conclude for sure that <hypothesis>?"."""
    clause = hypothesis[0].lower() + hypothesis[1:].strip(".")
    return f"Can we logically conclude for sure that {clause}?"


def read_scone(path: Path) -> list[Example]:
    """The rows of one ScoNe-NLI CSV file; its name (without .csv) is the ``category``."""
    category = path.stem
    suffix = "" if category == "one_scoped" else "_edited"

    def parse(row: dict[str, str]) -> Example:
        label = row["gold_label" + suffix]
        if label not in ("entailment", "neutral"):
            raise ValueError(f"gold_label{suffix} must be entailment or neutral, got {label!r}")
        return Example(
            id=f"{category}-{row['']}",
            context=text_field(row, "sentence1" + suffix),
            question=question_from_hypothesis(text_field(row, "sentence2" + suffix)),
            answer="Yes" if label == "entailment" else "No",
            category=category,
        ).with_inputs("context", "question")

    return read_csv(path, parse)


def load_scone() -> Task:
    examples = _distinct(shuffled(_all_train_examples(), seed=SPLIT_SEED))
    trainset, valset, testset = split(examples, TRAIN_SIZE, VAL_SIZE, TEST_SIZE)
    return Task(
        name="scone",
        description="ScoNe-NLI: can the hypothesis be concluded from the context, under zero, "
        "one or two negations? Chain of thought; exact match on Yes/No.",
        make_program=ScoNeCoT,
        trainset=trainset,
        valset=valset,
        testset=testset,
        metric=answer_exact_match,
    )


def _all_train_examples() -> list[Example]:
    # In the order of CATEGORIES (sorted): DSPy globbed the files, an order the file system decides.
    paths = [data_file("scone", "train", f"{category}.csv") for category in CATEGORIES]
    return [example for path in paths for example in read_scone(path)]


def _distinct(examples: list[Example]) -> list[Example]:
    """The first occurrence of every (context, question) pair; the data repeats 32 pairs."""
    seen: set[tuple[str, str]] = set()
    distinct = []
    for example in examples:
        key = (example.context, example.question)
        if key not in seen:
            seen.add(key)
            distinct.append(example)
    return distinct
