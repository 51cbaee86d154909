"""Reading the task data shipped in ``mipro/tasks/data``: paths, CSV and JSONL rows, splits.

A row that cannot be read raises ``ConfigurationError`` naming the file and line.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mipro.errors import ConfigurationError

T = TypeVar("T")
Row = TypeVar("Row")

DATA_DIR = Path(__file__).parent / "data"


def data_file(*parts: str) -> Path:
    """The path of a shipped data file, e.g. ``data_file("iris", "iris.csv")``."""
    path = DATA_DIR.joinpath(*parts)
    if not path.is_file():
        raise ConfigurationError(
            f"task data file {path} is missing; reinstall mipro (pip install --force-reinstall mipro)"
        )
    return path


def read_jsonl(path: Path, parse: Callable[[dict[str, Any]], T]) -> list[T]:
    """``parse`` applied to every JSON object of a JSON Lines file."""
    with path.open(encoding="utf-8") as lines:
        numbered = ((number, line) for number, line in enumerate(lines, 1) if line.strip())
        return _parse_rows(path, numbered, lambda line: parse(_json_object(line)))


def read_csv(
    path: Path,
    parse: Callable[[dict[str, str]], T],
    *,
    fieldnames: Sequence[str] | None = None,
) -> list[T]:
    """``parse`` applied to every row of a CSV file, as a dict keyed by the header.

    With ``fieldnames``, the file's first line is skipped and these names are used instead.
    """
    with path.open(newline="", encoding="utf-8") as file:
        if fieldnames is not None:
            next(file, None)
        reader = csv.DictReader(file, fieldnames=fieldnames)
        numbered = ((reader.line_num + (fieldnames is not None), row) for row in reader)
        return _parse_rows(path, numbered, lambda row: parse(_complete(row, reader.fieldnames)))


def text_field(row: dict[str, Any], key: str) -> str:
    """``row[key]``, which must be a non-empty string (else ``ValueError``)."""
    value = row[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"field {key!r} must be a non-empty string, got {value!r}")
    return value


def text_list_field(row: dict[str, Any], key: str) -> list[str]:
    """``row[key]``, which must be a non-empty list of non-empty strings (else ``ValueError``)."""
    values = row[key]
    if not isinstance(values, list) or not values or not all(
        isinstance(value, str) and value.strip() for value in values
    ):
        raise ValueError(f"field {key!r} must be a non-empty list of strings, got {values!r}")
    return values


def shuffled(items: Iterable[T], seed: int) -> list[T]:
    """A copy of ``items`` shuffled by ``random.Random(seed)`` (the papers' split recipes)."""
    result = list(items)
    random.Random(seed).shuffle(result)
    return result


def split(
    examples: list[T], train_size: int, val_size: int, test_size: int | None = None
) -> tuple[list[T], list[T], list[T]]:
    """Consecutive train, validation and test slices; the test slice runs to the end by default."""
    val_end = train_size + val_size
    test_end = None if test_size is None else val_end + test_size
    return examples[:train_size], examples[train_size:val_end], examples[val_end:test_end]


def _parse_rows(path: Path, rows: Iterable[tuple[int, Row]], parse: Callable[[Row], T]) -> list[T]:
    parsed = []
    for number, row in rows:
        try:
            parsed.append(parse(row))
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as error:
            reason = f"missing field {error}" if isinstance(error, KeyError) else str(error)
            raise ConfigurationError(
                f"{path}, line {number}: cannot read the row ({reason}); got {row!r}. "
                "Fix the row or reinstall mipro to restore the shipped file."
            ) from None
    return parsed


def _complete(row: dict[str, str], fieldnames: Sequence[str] | None) -> dict[str, str]:
    if None in row or None in row.values():
        raise ValueError(f"expected {len(fieldnames or ())} columns ({', '.join(fieldnames or ())})")
    return row


def _json_object(line: str) -> dict[str, Any]:
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value
