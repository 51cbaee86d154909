"""Confidence bounds for scores measured on a few dozen examples (see docs/selection.md).

- ``paired_lower_bound``: a one-sided lower bound of the mean per-example difference between
  two programs scored on the same examples, by inverting the paired sign-flip (randomization)
  test. It is exact for small samples and for differences that are mostly 0 (two prompts
  that agree on most examples), where the percentile bootstrap claims too much confidence.
- ``wilson_interval``: a two-sided interval of a mean score in [0, 1] that stays inside
  [0, 1] and is not degenerate when every example scored 1 (or 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

EXACT_UP_TO = 13
"""Up to this many examples every sign pattern is enumerated (2**13 = 8192); beyond, a seeded
Monte Carlo sample of ``RESAMPLES`` patterns is used."""
RESAMPLES = 10_000


def paired_lower_bound(differences: Sequence[float], level: float, *, seed: int) -> float:
    """A lower bound, at confidence ``level`` (e.g. 0.9), of the mean of ``differences``
    (candidate minus reference, one per example); ``-inf`` when the examples cannot support
    any bound at that level (e.g. 3 examples at 0.9).

    The sign-flip test of "the difference is symmetric around delta" rejects at level
    ``1 - level`` exactly for the ``delta`` below the bound. A sign pattern's statistic is the
    mean difference over the examples whose sign it flips (``-inf`` when it flips none: the
    observed sample itself), and the bound is the ``1 - level`` quantile of these. The bound
    is above 0 exactly when the test of "no difference" has a p-value below ``1 - level``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    d = np.asarray(differences, dtype=float)
    if d.size == 0:
        return -math.inf
    flips = _sign_patterns(d.size, seed)
    counts = flips.sum(axis=1)
    sums = flips.astype(float) @ d
    statistics = np.full(len(flips), -math.inf)
    np.divide(sums, counts, out=statistics, where=counts > 0)
    statistics.sort()
    rank = math.ceil((1 - level) * len(statistics))
    return float(statistics[max(rank, 1) - 1])


def _sign_patterns(size: int, seed: int) -> np.ndarray:
    """Which examples each sign pattern flips: all 2**size patterns, or the observed one plus
    ``RESAMPLES`` random ones (so the p-value is ``(1 + count) / (1 + RESAMPLES)``)."""
    if size <= EXACT_UP_TO:
        patterns = np.arange(2**size)[:, None] >> np.arange(size)
        return (patterns & 1).astype(bool)
    random_flips = np.random.default_rng(seed).random((RESAMPLES, size)) < 0.5
    return np.vstack([np.zeros((1, size), dtype=bool), random_flips])


def wilson_interval(mean: float, size: int, level: float) -> tuple[float, float]:
    """Wilson's score interval, at confidence ``level`` (two-sided), of a mean of ``size``
    scores in [0, 1]. For scores that are not 0/1 it is conservative: a variable in [0, 1]
    with mean p has variance at most p (1 - p)."""
    if size < 1:
        return (math.nan, math.nan)
    p = min(1.0, max(0.0, mean))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    denominator = 1 + z * z / size
    center = (p + z * z / (2 * size)) / denominator
    half = z * math.sqrt(p * (1 - p) / size + z * z / (4 * size * size)) / denominator
    return (max(0.0, center - half), min(1.0, center + half))
