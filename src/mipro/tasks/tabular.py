"""One-call classifiers over numeric measurements read from scikit-learn's bundled CSV files.

scikit-learn ships small UCI data sets as CSV files whose first line is a header
``<rows>,<features>,<label 0>,<label 1>,...`` and whose rows are the feature values followed by a
class id. ``measurement_examples`` turns such a file into examples with the values kept as
written, and ``MeasurementClassifier`` is a single ``Predict`` over them whose output is one of
the labels (a ``Literal``, so constrained decoding can only produce a valid label).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from mipro.program import Example, Module, Predict, Prediction
from mipro.signatures import Field, Signature
from mipro.tasks.files import read_csv


def measurement_signature(
    features: dict[str, str], labels: Sequence[str], instruction: str, answer_desc: str
) -> Signature:
    """A signature with one ``str`` input per feature (name -> description) and a label answer."""
    inputs = tuple(Field(name, "input", str, desc) for name, desc in features.items())
    answer = Field("answer", "output", Literal[tuple(labels)], desc=answer_desc)  # type: ignore[misc]
    return Signature(inputs, (answer,), instruction)


class MeasurementClassifier(Module):
    """One ``Predict`` call from the measurements to the label."""

    def __init__(self, signature: Signature) -> None:
        self.predict = Predict(signature)

    def forward(self, **measurements: Any) -> Prediction:
        return self.predict(**measurements)


def measurement_examples(
    path: Path, features: Sequence[str], labels: Sequence[str], id_prefix: str
) -> list[Example]:
    """Every row of a scikit-learn CSV file as an example: features as written, ``answer`` a label.

    Only the first ``len(features)`` columns are kept as inputs; the class id is the last column.
    """
    columns = [f"column_{index}" for index in range(_column_count(path))]

    def parse(row: dict[str, str]) -> dict[str, str]:
        values = [row[column].strip() for column in columns]
        for value in values[:-1]:
            float(value)
        label = int(values[-1])
        if label not in range(len(labels)):
            raise ValueError(f"class id must be in 0..{len(labels) - 1}, got {label}")
        return {**dict(zip(features, values)), "answer": labels[label]}

    rows = read_csv(path, parse, fieldnames=columns)
    return [
        Example(id=f"{id_prefix}-{number}", **row).with_inputs(*features)
        for number, row in enumerate(rows, 1)
    ]


def _column_count(path: Path) -> int:
    with path.open(encoding="utf-8") as file:
        header = file.readline().split(",")
    return int(header[1]) + 1
