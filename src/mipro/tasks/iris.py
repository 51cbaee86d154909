"""Iris: the species of an iris flower from its four measurements, with chain of thought.

``iris_typo`` is the same task whose seed instruction misspells "versicolor" as "versicolour".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from mipro.program import ChainOfThought, Example, Module, Prediction
from mipro.signatures import InputField, OutputField, Signature, ensure_signature
from mipro.tasks.files import data_file, read_csv, shuffled, split
from mipro.tasks.metrics import answer_exact_match
from mipro.tasks.task import Task

Species = Literal["setosa", "versicolor", "virginica"]
SPECIES: tuple[str, ...] = get_args(Species)
TRAIN_SIZE, VAL_SIZE = 35, 40
TYPO_INSTRUCTIONS = (
    "Given the petal and sepal dimensions in cm, predict the iris species: setosa, versicolour, "
    "or virginica."
)
_COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width", "species")


class IrisSpecies(Signature):
    """Given the petal and sepal dimensions in cm, predict the iris species: setosa, versicolor, or virginica."""

    petal_length: str = InputField()
    petal_width: str = InputField()
    sepal_length: str = InputField()
    sepal_width: str = InputField()
    answer: Species = OutputField()


class IrisClassifier(Module):
    """One chain-of-thought call from the four measurements to the species."""

    def __init__(self, signature: Signature | type[Signature] = IrisSpecies) -> None:
        self.predict = ChainOfThought(signature)

    def forward(  # type: ignore[override]
        self, petal_length: str, petal_width: str, sepal_length: str, sepal_width: str
    ) -> Prediction:
        return self.predict(
            petal_length=petal_length, petal_width=petal_width,
            sepal_length=sepal_length, sepal_width=sepal_width,
        )


def make_iris_typo_classifier() -> IrisClassifier:
    """An ``IrisClassifier`` whose instruction misspells one species."""
    return IrisClassifier(ensure_signature(IrisSpecies).with_instructions(TYPO_INSTRUCTIONS))


def iris_examples() -> list[Example]:
    """All 150 flowers in file order, measurements as written there (strings such as "5.1")."""
    flowers = read_csv(data_file("iris", "iris.csv"), _flower, fieldnames=_COLUMNS)
    return [
        Example(id=f"iris-{number}", **flower).with_inputs(*_COLUMNS[:4])
        for number, flower in enumerate(flowers, 1)
    ]


def load_iris() -> Task:
    return _iris_task(
        "iris", "Iris species from four measurements (chain of thought); exact match.", IrisClassifier
    )


def load_iris_typo() -> Task:
    return _iris_task(
        "iris_typo",
        "Iris with one species misspelled ('versicolour') in the seed instruction; exact match.",
        make_iris_typo_classifier,
    )


def _iris_task(name: str, description: str, make_program: Callable[[], Module]) -> Task:
    # The paper's recipe shuffles with random.Random(0) and holds out the last 75 as the test set;
    # its trainset doubled as the validation set. Here the first 75 are split into disjoint train
    # and validation sets, so demos are never scored on the examples they were copied from.
    trainset, valset, testset = split(shuffled(iris_examples(), seed=0), TRAIN_SIZE, VAL_SIZE)
    return Task(
        name=name, description=description, make_program=make_program,
        trainset=trainset, valset=valset, testset=testset, metric=answer_exact_match,
    )


def _flower(row: dict[str, str]) -> dict[str, str]:
    measurements = {column: row[column].strip() for column in _COLUMNS[:4]}
    for value in measurements.values():
        float(value)
    species = int(row["species"])
    if species not in range(len(SPECIES)):
        raise ValueError(f"species must be 0, 1 or 2, got {species}")
    return {**measurements, "answer": SPECIES[species]}
