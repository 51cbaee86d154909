"""The record of a built-in task: a program factory, its data splits and its metric."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mipro.evaluate import Metric
from mipro.program import Example, Module


@dataclass(frozen=True)
class Task:
    """A program to optimize, with its data and metric.

    ``make_program`` returns a fresh, unoptimized program on every call. ``trainset`` is where
    optimizers draw demonstrations, ``valset`` what they score candidates on, and ``testset`` is
    held out from optimization. Every example has its inputs marked (``with_inputs``).
    """

    name: str
    description: str
    make_program: Callable[[], Module]
    trainset: list[Example]
    valset: list[Example]
    testset: list[Example]
    metric: Metric
