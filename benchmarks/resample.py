"""Resampled splits: a task's train, validation and test examples drawn afresh for each seed.

A task's built-in split is fixed, so seeds of ``search_quality`` vary the optimizer but not the
data: every run is scored on the same test examples, and a program that always answers one
label scores that label's share of this one test set, which no validation example foresees.
With ``--resample``, each (task, seed) pools the task's train, validation and test examples,
shuffles them with a seed derived from the task's name and the seed, and cuts new splits of the
same sizes, so a mean over seeds is also a mean over data: what a user with other examples of
the same task would see. Both codes of a before/after comparison cut the same splits.
"""

from __future__ import annotations

import random
from typing import Any


def resampled_splits(task: Any, seed: int, max_train: int, max_val: int,
                     max_test: int) -> tuple[list[Any], list[Any], list[Any]]:
    """(train, validation, test) for ``task`` at ``seed``: as many examples as the task's own
    splits capped by ``max_*``, drawn without overlap from all of its examples."""
    sizes = (min(max_train, len(task.trainset)), min(max_val, len(task.valset)),
             min(max_test, len(task.testset)))
    pool = [*task.trainset, *task.valset, *task.testset]
    random.Random(f"resample:{task.name}:{seed}").shuffle(pool)
    train_end, val_end = sizes[0], sizes[0] + sizes[1]
    return pool[:train_end], pool[train_end:val_end], pool[val_end:val_end + sizes[2]]
