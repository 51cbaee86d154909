"""Heart disease (UCI Cleveland): an answer ensemble of three classifiers and a final judge.

Each patient is described by 13 features written as words where the paper (through DSPy's
HuggingFace copy of the data) maps codes to strings, e.g. chest pain type 4 -> "asymptomatic".
"""

from __future__ import annotations

from typing import Any, Literal

from mipro.program import ChainOfThought, Example, Module, Prediction
from mipro.signatures import Field, Signature
from mipro.tasks.files import data_file, read_csv, shuffled, split
from mipro.tasks.metrics import answer_exact_match
from mipro.tasks.task import Task

TRAIN_SIZE, VAL_SIZE = 60, 60
NUM_CLASSIFIERS = 3
MISSING = "unknown"

FEATURES: dict[str, str] = {
    "age": "Age in years",
    "sex": "Sex (male or female)",
    "cp": "Chest pain type (typical angina, atypical angina, non-anginal pain, asymptomatic)",
    "trestbps": "Resting blood pressure (in mm Hg on admission to the hospital)",
    "chol": "Serum cholesterol in mg/dl",
    "fbs": "Fasting blood sugar > 120 mg/dl (true or false)",
    "restecg": "Resting electrocardiographic results (normal, ST-T wave abnormality, "
    "left ventricular hypertrophy)",
    "thalach": "Maximum heart rate achieved",
    "exang": "Exercise induced angina (yes or no)",
    "oldpeak": "ST depression induced by exercise relative to rest",
    "slope": "The slope of the peak exercise ST segment (upsloping, flat, downsloping)",
    "ca": "Number of major vessels (0-3) colored by fluoroscopy",
    "thal": "Thalassemia (normal, fixed defect, reversible defect)",
}
CODES: dict[str, dict[str, str]] = {
    "sex": {"0": "female", "1": "male"},
    "cp": {"1": "typical angina", "2": "atypical angina", "3": "non-anginal pain",
           "4": "asymptomatic"},
    "fbs": {"0": "false", "1": "true"},
    "restecg": {"0": "normal", "1": "ST-T wave abnormality", "2": "left ventricular hypertrophy"},
    "exang": {"0": "no", "1": "yes"},
    "slope": {"1": "upsloping", "2": "flat", "3": "downsloping"},
    "thal": {"3": "normal", "6": "fixed defect", "7": "reversible defect"},
}

_PATIENT = tuple(Field(name, "input", str, desc) for name, desc in FEATURES.items())
_ANSWER = Field(
    "answer", "output", Literal["yes", "no"],
    desc="Does this patient have heart disease? Just yes or no.",
)
CLASSIFY = Signature(
    _PATIENT, (_ANSWER,), "Given patient information, predict the presence of heart disease."
)
JUDGE = Signature(
    (*_PATIENT, Field("context", "input", list[str], "A list of opinions from trainee doctors.")),
    (_ANSWER,),
    "Given patient information, predict the presence of heart disease. "
    "I can critically assess the provided trainee opinions.",
)


class HeartDiseaseEnsemble(Module):
    """Three chain-of-thought classifiers (sampled at temperatures 0.70-0.72, as in the paper),
    then a judge that reads their opinions and answers yes or no: four LM calls."""

    def __init__(self) -> None:
        self.classify = [
            ChainOfThought(CLASSIFY, temperature=0.7 + 0.01 * index)
            for index in range(NUM_CLASSIFIERS)
        ]
        self.judge = ChainOfThought(JUDGE)

    def forward(self, **patient: Any) -> Prediction:
        opinions = []
        for classifier in self.classify:
            opinion = classifier(**patient)
            reasoning = " ".join(str(opinion.reasoning).split()).rstrip(".")
            opinions.append(f"{reasoning}. Hence, my answer is {opinion.answer}.")
        return self.judge(context=opinions, **patient)


def patient_examples() -> list[Example]:
    """All 303 patients in file order; ``answer`` is "yes" when ``num > 0``."""
    patients = read_csv(data_file("heart_disease", "heart_cleveland.csv"), _patient)
    return [
        Example(id=f"cleveland-{number}", **patient).with_inputs(*FEATURES)
        for number, patient in enumerate(patients, 1)
    ]


def load_heart_disease() -> Task:
    # The paper's recipe shuffles with random.Random(0) and holds out all but the first 120 as the
    # test set; its trainset doubled as the validation set. Here the first 120 are split into
    # disjoint train and validation sets, so demos are never scored where they were copied from.
    trainset, valset, testset = split(shuffled(patient_examples(), seed=0), TRAIN_SIZE, VAL_SIZE)
    return Task(
        name="heart_disease",
        description="Heart disease from 13 patient features: three classifiers and a judge "
        "that reads their opinions; exact match on yes/no.",
        make_program=HeartDiseaseEnsemble,
        trainset=trainset,
        valset=valset,
        testset=testset,
        metric=answer_exact_match,
    )


def _patient(row: dict[str, str]) -> dict[str, str]:
    patient = {name: _feature(name, row[name].strip()) for name in FEATURES}
    target = row["target"].strip()
    if target not in ("0", "1"):
        raise ValueError(f"target must be 0 or 1, got {target!r}")
    return {**patient, "answer": "yes" if target == "1" else "no"}


def _feature(name: str, value: str) -> str:
    if value == "?":
        return MISSING
    number = float(value)
    text = str(int(number)) if number.is_integer() else value
    if name not in CODES:
        return text
    if text not in CODES[name]:
        raise ValueError(f"{name} must be one of {sorted(CODES[name])}, got {value!r}")
    return CODES[name][text]
