"""Wine: which of three cultivars a wine comes from, from 13 chemical measurements.

Not one of the paper's tasks: a small classification task where demonstrations carry the signal
(the cultivars have no names a model could know), built from scikit-learn's copy of UCI Wine.
"""

from __future__ import annotations

from mipro.tasks.files import data_file, shuffled, split
from mipro.tasks.metrics import answer_exact_match
from mipro.tasks.tabular import MeasurementClassifier, measurement_examples, measurement_signature
from mipro.tasks.task import Task

CULTIVARS = ("class_0", "class_1", "class_2")
FEATURES: dict[str, str] = {
    "alcohol": "Alcohol (% by volume)",
    "malic_acid": "Malic acid (g/l)",
    "ash": "Ash (g/l)",
    "alcalinity_of_ash": "Alcalinity of ash",
    "magnesium": "Magnesium (mg/l)",
    "total_phenols": "Total phenols",
    "flavanoids": "Flavanoids",
    "nonflavanoid_phenols": "Nonflavanoid phenols",
    "proanthocyanins": "Proanthocyanins",
    "color_intensity": "Color intensity",
    "hue": "Hue",
    "od280_od315": "OD280/OD315 of diluted wines",
    "proline": "Proline (mg/l)",
}
WINE = measurement_signature(
    FEATURES, CULTIVARS,
    "Given the chemical analysis of a wine, predict which of three cultivars it comes from: "
    "class_0, class_1 or class_2.",
    "The cultivar: class_0, class_1 or class_2.",
)
TRAIN_SIZE, VAL_SIZE = 60, 50


def make_wine_classifier() -> MeasurementClassifier:
    """A fresh, unoptimized wine classifier."""
    return MeasurementClassifier(WINE)


def load_wine() -> Task:
    # Shuffle with random.Random(0); 60 train, 50 validation, the remaining 68 test.
    examples = shuffled(
        measurement_examples(data_file("wine", "wine_data.csv"), list(FEATURES), CULTIVARS, "wine"),
        seed=0,
    )
    trainset, valset, testset = split(examples, TRAIN_SIZE, VAL_SIZE)
    return Task(
        name="wine",
        description="Wine cultivar from 13 chemical measurements (one call); exact match.",
        make_program=make_wine_classifier,
        trainset=trainset, valset=valset, testset=testset,
        metric=answer_exact_match,
    )
