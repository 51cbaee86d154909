"""Records grouped into cells: the runs of one optimizer on one task, over seeds."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SPLITS = ("train", "dev", "test")

# Column order: the program as given, then the optimizers roughly as the paper groups them
# (instructions only, then demos, then both). Names not listed follow alphabetically.
OPTIMIZER_ORDER = (
    "unoptimized", "opro", "opro_grounded", "mipro_0shot", "mipro++_0shot",
    "bootstrap_random_search", "bayesian_bootstrap", "mipro", "mipro++",
)


@dataclass(frozen=True)
class Cell:
    """The runs of one optimizer on one task: per-seed scores, per-example test scores, costs."""

    task: str
    optimizer: str
    seeds: tuple[int, ...]
    scores: Mapping[str, tuple[float, ...]]
    """Per split, the mean score of each seed's run (NaN where the record has none)."""
    test_examples: Mapping[int, tuple[float, ...]]
    """Per seed, the test score of every example, in test-set order."""
    lm_calls: tuple[int, ...]
    lm_requests: tuple[int, ...]
    wall_seconds: tuple[float, ...]

    def mean(self, split: str) -> float:
        return _mean(self.scores[split])

    def test_by_seed(self) -> dict[int, float]:
        return dict(zip(self.seeds, self.scores["test"]))

    def gaps(self) -> list[float]:
        """Dev minus test score of every seed that has both (positive: the search overfit dev)."""
        return [dev - test for dev, test in zip(self.scores["dev"], self.scores["test"])
                if not (math.isnan(dev) or math.isnan(test))]


def collect_cells(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Cell]:
    """The records grouped by (task, optimizer), each group sorted by seed."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["task"], record["optimizer"]), []).append(record)
    return {key: _cell(key, sorted(group, key=lambda r: r["seed"])) for key, group in groups.items()}


def _cell(key: tuple[str, str], records: Sequence[Mapping[str, Any]]) -> Cell:
    return Cell(
        task=key[0], optimizer=key[1],
        seeds=tuple(int(r["seed"]) for r in records),
        scores={split: tuple(_score(r, split) for r in records) for split in SPLITS},
        test_examples={int(r["seed"]): tuple(float(s) for s in r["example_scores"]["test"])
                       for r in records},
        lm_calls=tuple(optimization_calls(r) for r in records),
        lm_requests=tuple(optimization_calls(r, cache_hits=True) for r in records),
        wall_seconds=tuple(float(r["wall_seconds"]["total"]) for r in records),
    )


def _score(record: Mapping[str, Any], split: str) -> float:
    value = record["scores"].get(split)
    return math.nan if value is None else float(value)


def _mean(values: Iterable[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.fmean(finite) if finite else math.nan


def optimization_calls(record: Mapping[str, Any], *, cache_hits: bool = False) -> int:
    """LM calls (task and prompt LM) the optimizer made; with ``cache_hits``, also those the
    cache answered (every request it made, whatever ran before it)."""
    usage = record["lm_usage"]["optimization"]
    counted = ("calls", "cache_hits") if cache_hits else ("calls",)
    return sum(int(usage.get(role, {}).get(key, 0))
               for role in ("task_lm", "prompt_lm") for key in counted)


def column_key(name: str) -> tuple[int, str]:
    """Sort key of an optimizer name in table column order."""
    rank = OPTIMIZER_ORDER.index(name) if name in OPTIMIZER_ORDER else len(OPTIMIZER_ORDER)
    return rank, name


def ordered_optimizers(names: Iterable[str]) -> list[str]:
    """``names`` in table column order."""
    return sorted(set(names), key=column_key)
