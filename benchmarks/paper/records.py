"""Run records on disk: one JSON per task x optimizer x seed, and which of them are stale.

A record (written by :func:`benchmarks.paper.runs.run_one`) holds, besides the run's identity
(``task``, ``optimizer``, ``seed``):

- ``src_hash``: :func:`benchmarks.paper.provenance.src_hash` of the code it ran with;
- ``settings``: the size profile, the sizes, the examples per split, the LM-call cap, the
  threads and every option the optimizer was built with;
- ``lm``: the LM's identity (model id, backend, URL, model file);
- ``scores``: the mean train, dev and test score; ``example_scores``: every example's score per
  split, in split order (failed examples score 0); ``failures``: index and error of each
  failed example per split;
- the optimizer's result summary, LM usage, wall time, versions and machine.

A table combines only records of one ``src_hash``; the others are stale.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD_FORMAT = 2
"""Format 1 records (before the source hash and per-example scores) have no ``format`` key."""


@dataclass(frozen=True)
class RunSpec:
    """Which run: one optimizer on one task with one seed."""

    task: str
    optimizer: str
    seed: int

    @property
    def stem(self) -> str:
        return f"{self.task}__{self.optimizer}__seed{self.seed}"


def record_path(folder: Path, spec: RunSpec) -> Path:
    """Where the record of ``spec`` lives in ``folder``."""
    return folder / f"{spec.stem}.json"


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    """Write ``record`` as JSON, atomically: a crash never leaves half a record behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def read_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path``, or None when there is none."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def load_records(folder: Path) -> list[dict[str, Any]]:
    """Every record (``<task>__<optimizer>__seed<k>.json``) in ``folder``, sorted by name."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*__*__seed*.json"))]


def partition_by_src(records: Iterable[Mapping[str, Any]],
                     src_hash: str) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """``records`` made from the source tree ``src_hash``, and the stale others."""
    current: list[Mapping[str, Any]] = []
    stale: list[Mapping[str, Any]] = []
    for record in records:
        (current if record.get("src_hash") == src_hash else stale).append(record)
    return current, stale


def stale_summary(stale: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """The stale records grouped by source hash (``"none"`` for records without one): each
    hash with the runs it holds, as ``task x optimizer x seed``."""
    groups: dict[str, list[str]] = {}
    for record in stale:
        name = f"{record['task']} x {record['optimizer']} x seed {record['seed']}"
        groups.setdefault(str(record.get("src_hash") or "none"), []).append(name)
    return sorted((key, sorted(names)) for key, names in groups.items())
