"""Metrics shared by the built-in tasks: normalized exact match and gold-passage recall."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable

from mipro.program import Example, Prediction

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_text(text: str) -> str:
    """SQuAD/HotPotQA answer normalization: lowercase, no punctuation, no articles, single spaces.

    As in DSPy, the text is first put in Unicode NFD form.
    """
    text = unicodedata.normalize("NFD", text).lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, answers: Iterable[str]) -> bool:
    """Whether ``prediction`` equals any of ``answers`` after ``normalize_text``."""
    normalized = normalize_text(prediction)
    return any(normalized == normalize_text(answer) for answer in answers)


def answer_exact_match(example: Example, prediction: Prediction) -> bool:
    """The prediction's ``answer`` matches one of the example's gold answers.

    Gold answers are ``example.answers`` when the example has that field, else ``example.answer``.
    """
    answers = example["answers"] if "answers" in example else [example.answer]
    return exact_match(str(prediction.answer), answers)


def passage_title(passage: str) -> str:
    """The title of a ``"title | text"`` passage."""
    return passage.split(" | ", 1)[0]


def gold_titles_retrieved(gold_titles: Iterable[str], passages: Iterable[str]) -> bool:
    """Whether every gold title is among the titles of the retrieved passages (normalized)."""
    found = {normalize_text(passage_title(passage)) for passage in passages}
    return {normalize_text(title) for title in gold_titles} <= found
