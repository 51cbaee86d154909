"""Breast cancer: whether a tumour is malignant or benign, from ten cell-nucleus measurements.

Not one of the paper's tasks: a binary classification task built from scikit-learn's copy of the
UCI Breast Cancer Wisconsin (Diagnostic) data. Of its 30 columns only the ten means are inputs,
which keeps the prompt of a 4-demo program short enough for small models.
"""

from __future__ import annotations

from mipro.tasks.files import data_file, shuffled, split
from mipro.tasks.metrics import answer_exact_match
from mipro.tasks.tabular import MeasurementClassifier, measurement_examples, measurement_signature
from mipro.tasks.task import Task

DIAGNOSES = ("malignant", "benign")
FEATURES: dict[str, str] = {
    "radius": "Mean distance from the center to points on the perimeter",
    "texture": "Standard deviation of gray-scale values",
    "perimeter": "Perimeter",
    "area": "Area",
    "smoothness": "Local variation in radius lengths",
    "compactness": "Perimeter^2 / area - 1.0",
    "concavity": "Severity of concave portions of the contour",
    "concave_points": "Number of concave portions of the contour",
    "symmetry": "Symmetry",
    "fractal_dimension": "Coastline approximation - 1",
}
BREAST_CANCER = measurement_signature(
    FEATURES, DIAGNOSES,
    "Given the mean measurements of the cell nuclei in a breast mass image, predict whether the "
    "tumour is malignant or benign.",
    "The diagnosis: malignant or benign.",
)
TRAIN_SIZE, VAL_SIZE, TEST_SIZE = 100, 100, 200


def make_breast_cancer_classifier() -> MeasurementClassifier:
    """A fresh, unoptimized breast cancer classifier."""
    return MeasurementClassifier(BREAST_CANCER)


def load_breast_cancer() -> Task:
    # Shuffle with random.Random(0); 100 train, 100 validation, 200 test (169 rows unused).
    path = data_file("breast_cancer", "breast_cancer.csv")
    examples = shuffled(measurement_examples(path, list(FEATURES), DIAGNOSES, "wdbc"), seed=0)
    trainset, valset, testset = split(examples, TRAIN_SIZE, VAL_SIZE, TEST_SIZE)
    return Task(
        name="breast_cancer",
        description="Breast tumour malignant or benign from ten measurements (one call); "
        "exact match.",
        make_program=make_breast_cancer_classifier,
        trainset=trainset, valset=valset, testset=testset,
        metric=answer_exact_match,
    )
