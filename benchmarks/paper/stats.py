"""Significance tests of the table: Wilcoxon signed-rank tests, paired by seed or by example.

- :func:`compare_best_two`: the best against the second-best optimizer of a task, paired by
  seed on mean test scores (as the paper does). With *n* non-zero differences the exact
  two-sided p-value cannot fall below 2/2^n: 0.25 with 3 seeds.
- :func:`compare_with_baselines`: MIPRO against each other optimizer of a task, paired by
  (seed, test example) on per-example test scores pooled over the seeds both ran. This has the
  power three seeds lack; the price is that the pairs of one example over seeds are not
  independent (for an optimizer whose program is the same every seed they repeat).
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import PermutationMethod, wilcoxon

from benchmarks.paper.cells import Cell, column_key

MIN_PAIRS = 2
PERMUTATIONS = 9_999
"""Sign patterns the signed-rank test draws (seeded); with at most 13 non-zero differences it
enumerates all of them instead, and the p-value is exact."""
ALPHA = 0.05
REFERENCE = "mipro"
"""The optimizer compared with every baseline."""


@dataclass(frozen=True)
class Comparison:
    """Wilcoxon signed-rank test, paired by seed, of the best against the second-best optimizer.

    ``p_value`` is None when the test could not run; ``note`` then says why.
    """

    task: str
    best: str | None
    second: str | None
    pairs: int
    mean_difference: float
    p_value: float | None
    note: str


@dataclass(frozen=True)
class PairedTest:
    """Wilcoxon signed-rank test of ``reference`` against ``baseline`` on one task, paired by
    (seed, test example). ``verdict`` is ``win`` or ``loss`` (for ``reference``) when
    p < :data:`ALPHA`, else ``tie``."""

    task: str
    reference: str
    baseline: str
    seeds: int
    pairs: int
    mean_difference: float
    p_value: float | None
    note: str

    @property
    def verdict(self) -> str:
        if self.p_value is None or self.p_value >= ALPHA or self.mean_difference == 0:
            return "tie"
        return "win" if self.mean_difference > 0 else "loss"


def wilcoxon_p(differences: Sequence[float], unit: str = "seeds") -> tuple[float | None, str]:
    """Two-sided Wilcoxon signed-rank p-value of paired ``differences`` (zeros dropped), or
    None and why not; the note also says when p cannot reach 0.05 with so few pairs.

    The p-value comes from the sign-flip distribution of the statistic, not its normal
    approximation: per-example differences of 0/1 scores are all ±1, every rank is tied, and
    the approximation then has no continuity correction worth the name (40 wins and 29 losses:
    0.185 against the exact 0.228; 2 non-zero pairs among 300: 0.157 where nothing can fall
    below 0.5)."""
    if len(differences) < MIN_PAIRS:
        return None, f"too few paired {unit} ({len(differences)}; the test needs {MIN_PAIRS})"
    nonzero = [d for d in differences if d != 0]
    if not nonzero:
        return None, "all paired differences are zero"
    if len(nonzero) == 1:
        p_value = 1.0  # both signs of one difference are as extreme as the one observed
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns about small samples; the note says it
            method = PermutationMethod(n_resamples=PERMUTATIONS, rng=0)
            p_value = float(wilcoxon(nonzero, method=method).pvalue)
    smallest = 2 / 2 ** len(nonzero)
    note = f"p cannot fall below {smallest:.3g} with {len(nonzero)} non-zero pairs" \
        if smallest >= ALPHA else ""
    return p_value, note


def compare_best_two(task: str, cells: Sequence[Cell]) -> Comparison:
    """The Wilcoxon test between the two optimizers with the highest mean test score on ``task``
    (ties broken by column order)."""
    ranked = sorted((c for c in cells if not math.isnan(c.mean("test"))),
                    key=lambda c: (-c.mean("test"), column_key(c.optimizer)))
    if len(ranked) < 2:
        only = ranked[0].optimizer if ranked else None
        return Comparison(task, only, None, 0, math.nan, None, "fewer than two optimizers ran")
    best, second = ranked[0], ranked[1]
    first_scores, second_scores = best.test_by_seed(), second.test_by_seed()
    seeds = sorted(set(first_scores) & set(second_scores))
    differences = [first_scores[s] - second_scores[s] for s in seeds]
    mean_difference = statistics.fmean(differences) if differences else math.nan
    p_value, note = wilcoxon_p(differences)
    return Comparison(task, best.optimizer, second.optimizer, len(seeds), mean_difference,
                      p_value, note)


def compare_with_baselines(task: str, cells: Sequence[Cell],
                           reference: str = REFERENCE) -> list[PairedTest]:
    """``reference`` against every other optimizer of ``task``, in column order; empty when
    ``reference`` did not run on it."""
    by_name = {cell.optimizer: cell for cell in cells}
    if reference not in by_name:
        return []
    return [paired_test(by_name[reference], by_name[name])
            for name in sorted(by_name, key=column_key) if name != reference]


def paired_test(reference: Cell, baseline: Cell) -> PairedTest:
    """Per-example test scores of the seeds both cells ran, pooled and paired by example.

    A seed whose two test sets differ in length cannot be paired and is left out (the note
    says so).
    """
    differences: list[float] = []
    seeds, unpaired = 0, []
    for seed in sorted(set(reference.test_examples) & set(baseline.test_examples)):
        ours, theirs = reference.test_examples[seed], baseline.test_examples[seed]
        if len(ours) != len(theirs):
            unpaired.append(seed)
            continue
        seeds += 1
        differences += [a - b for a, b in zip(ours, theirs)]
    mean_difference = statistics.fmean(differences) if differences else math.nan
    p_value, note = wilcoxon_p(differences, unit="examples")
    if unpaired:
        note = "; ".join(filter(None, [note, f"seeds {unpaired} left out: test sets differ"]))
    return PairedTest(reference.task, reference.optimizer, baseline.optimizer, seeds,
                      len(differences), mean_difference, p_value, note)
