"""The paper's Table 2 from run records: scores per task and optimizer, and Wilcoxon tests.

A run record is the JSON ``benchmarks/paper.py`` writes per task x optimizer x seed. This
module reads them, averages over seeds and renders markdown; it runs no model.
"""

from __future__ import annotations

import json
import math
import statistics
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scipy.stats import wilcoxon

SPLITS = ("train", "dev", "test")

# Column order: the program as given, then the optimizers roughly as the paper groups them
# (instructions only, then demos, then both). Names not listed follow alphabetically.
OPTIMIZER_ORDER = (
    "unoptimized", "opro", "opro_grounded", "mipro_0shot", "mipro++_0shot",
    "bootstrap_random_search", "bayesian_bootstrap", "mipro", "mipro++",
)

MIN_PAIRED_SEEDS = 2


@dataclass(frozen=True)
class Cell:
    """The runs of one optimizer on one task: per-seed scores and costs."""

    task: str
    optimizer: str
    seeds: tuple[int, ...]
    scores: Mapping[str, tuple[float, ...]]
    lm_calls: tuple[int, ...]
    lm_requests: tuple[int, ...]
    wall_seconds: tuple[float, ...]

    def mean(self, split: str) -> float:
        values = [v for v in self.scores[split] if not math.isnan(v)]
        return statistics.fmean(values) if values else math.nan

    def test_by_seed(self) -> dict[int, float]:
        return dict(zip(self.seeds, self.scores["test"]))


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


def load_runs(folder: Path) -> list[dict[str, Any]]:
    """Every run record (``<task>__<optimizer>__seed<k>.json``) in ``folder``, sorted by name."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*__*__seed*.json"))]


def collect_cells(runs: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Cell]:
    """The runs grouped by (task, optimizer), each group sorted by seed."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["task"], run["optimizer"]), []).append(run)
    return {key: _cell(key, sorted(group, key=lambda r: r["seed"])) for key, group in groups.items()}


def _cell(key: tuple[str, str], runs: Sequence[Mapping[str, Any]]) -> Cell:
    return Cell(
        task=key[0], optimizer=key[1],
        seeds=tuple(int(r["seed"]) for r in runs),
        scores={split: tuple(_score(r, split) for r in runs) for split in SPLITS},
        lm_calls=tuple(optimization_calls(r) for r in runs),
        lm_requests=tuple(optimization_calls(r, cache_hits=True) for r in runs),
        wall_seconds=tuple(float(r["wall_seconds"]["total"]) for r in runs),
    )


def _score(run: Mapping[str, Any], split: str) -> float:
    value = run["scores"].get(split)
    return math.nan if value is None else float(value)


def optimization_calls(run: Mapping[str, Any], *, cache_hits: bool = False) -> int:
    """LM calls (task and prompt LM) the optimizer made; with ``cache_hits``, also those the
    cache answered (every request it made, whatever ran before it)."""
    usage = run["lm_usage"]["optimization"]
    counted = ("calls", "cache_hits") if cache_hits else ("calls",)
    return sum(int(usage.get(role, {}).get(key, 0))
               for role in ("task_lm", "prompt_lm") for key in counted)


def _column_key(name: str) -> tuple[int, str]:
    rank = OPTIMIZER_ORDER.index(name) if name in OPTIMIZER_ORDER else len(OPTIMIZER_ORDER)
    return rank, name


def ordered_optimizers(names: Iterable[str]) -> list[str]:
    """``names`` in table column order."""
    return sorted(set(names), key=_column_key)


def compare_best_two(task: str, cells: Sequence[Cell]) -> Comparison:
    """The Wilcoxon test between the two optimizers with the highest mean test score on ``task``."""
    ranked = sorted((c for c in cells if not math.isnan(c.mean("test"))),
                    key=lambda c: (-c.mean("test"), _column_key(c.optimizer)))
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


def wilcoxon_p(differences: Sequence[float]) -> tuple[float | None, str]:
    """Two-sided Wilcoxon signed-rank p-value of paired ``differences``, or None and why not."""
    if len(differences) < MIN_PAIRED_SEEDS:
        return None, f"too few paired seeds ({len(differences)}; the test needs {MIN_PAIRED_SEEDS})"
    nonzero = [d for d in differences if d != 0]
    if not nonzero:
        return None, "all paired differences are zero"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about small samples; the note says it
        p_value = float(wilcoxon(differences, zero_method="wilcox").pvalue)
    smallest = 2 / 2 ** len(nonzero)
    note = f"p cannot fall below {smallest:.3g} with {len(nonzero)} non-zero pairs" \
        if smallest >= 0.05 else ""
    return p_value, note


def _percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}"


def _score_cell(cell: Cell | None, best_test: float) -> str:
    """``test (train / dev) n=seeds``, the test score in bold when it equals the task's best."""
    if cell is None:
        return "not run"
    test = _percent(cell.mean("test"))
    test = f"**{test}**" if cell.mean("test") == best_test else test
    return f"{test} ({_percent(cell.mean('train'))} / {_percent(cell.mean('dev'))}) n={len(cell.seeds)}"


def _cost_cell(cell: Cell | None) -> str:
    if cell is None:
        return "not run"
    requests, calls = statistics.fmean(cell.lm_requests), statistics.fmean(cell.lm_calls)
    minutes = statistics.fmean(cell.wall_seconds) / 60
    return f"{requests:,.0f} requests ({calls:,.0f} uncached), {minutes:.1f} min"


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _comparison_row(comparison: Comparison) -> list[str]:
    p_value = "–" if comparison.p_value is None else f"{comparison.p_value:.3g}"
    difference = "–" if math.isnan(comparison.mean_difference) else \
        f"{100 * comparison.mean_difference:+.1f}"
    return [comparison.task, comparison.best or "–", comparison.second or "–",
            str(comparison.pairs), difference, p_value, comparison.note]


def render_table(runs: Sequence[Mapping[str, Any]]) -> str:
    """Markdown shaped like the paper's Table 2, with costs and per-task Wilcoxon tests."""
    cells = collect_cells(runs)
    tasks = sorted({task for task, _ in cells})
    optimizers = ordered_optimizers(optimizer for _, optimizer in cells)
    lines = [*_provenance(runs), "",
             "Mean test score in % (train / dev in %) over n seeds; bold: best test score of "
             "the task (ties all bold).", ""]
    score_rows, cost_rows, comparisons = [], [], []
    for task in tasks:
        comparison = compare_best_two(task, [c for (t, _), c in cells.items() if t == task])
        comparisons.append(comparison)
        best = cells[task, comparison.best].mean("test") if comparison.best else math.nan
        score_rows.append([task] + [_score_cell(cells.get((task, o)), best)
                                    for o in optimizers])
        cost_rows.append([task] + [_cost_cell(cells.get((task, o))) for o in optimizers])
    lines += _markdown_table(["task", *optimizers], score_rows)
    lines += ["", "Mean LM requests the optimizer made (task + prompt LM), of them not answered "
              "by the reply cache, and mean wall time of a whole run (optimization and the three "
              "evaluations). A request an earlier run already made (the same prompt: every seed "
              "of `unoptimized` after the first, bootstrapping shared by optimizers with the same "
              "seed) is a cache hit and costs almost no time, so uncached calls and wall times "
              "depend on the order of the runs; requests do not.", ""]
    lines += _markdown_table(["task", *optimizers], cost_rows)
    lines += ["", "Wilcoxon signed-rank test (two-sided, paired by seed) on the test scores of "
              "the best and the second-best optimizer of each task.", ""]
    lines += _markdown_table(["task", "best", "second", "paired seeds", "mean difference (points)",
                              "p-value", "note"], [_comparison_row(c) for c in comparisons])
    lines += ["", "Examples per split and search budget of each task (from the records).", ""]
    lines += _markdown_table(["task", *_SIZE_COLUMNS], _size_rows(runs))
    return "\n".join(lines) + "\n"


_SIZE_COLUMNS = ("train slice", "dev", "test", "minibatch_size", "num_trials", "num_candidates",
                 "demos (traced / labeled)")


def _size_rows(runs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """One row per task and distinct sizes (more than one when records disagree)."""
    rows: dict[tuple[str, ...], None] = {}
    for run in runs:
        sizes, counts = run.get("sizes", {}), run.get("num_examples", {})
        rows[(run["task"], *(str(counts.get(k, "?")) for k in ("train", "dev", "test")),
              *(str(sizes.get(k, "?")) for k in ("minibatch_size", "num_trials", "num_candidates")),
              f"{sizes.get('max_bootstrapped_demos', '?')} / {sizes.get('max_labeled_demos', '?')}")] = None
    return [list(row) for row in sorted(rows)]


def _provenance(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Where the numbers come from: LM, size profiles, mipro versions, number of runs."""
    def values(key: str, inner: str | None = None) -> str:
        found = {str(r[key][inner] if inner else r[key]) for r in runs}
        return ", ".join(sorted(found)) or "–"

    return [
        "# MIPRO paper benchmark (Table 2) on a local model", "",
        f"- runs: {len(runs)}",
        f"- task LM: {values('lm', 'model_id')}",
        f"- size profile: {values('size_profile')}",
        f"- mipro version: {values('mipro_version')}",
    ]
