"""``table.md``: the paper's Table 2 from run records of one source tree.

Only records of one ``src/`` hash are tabulated; the others are listed at the end as stale.
Per task the table shows dev and test side by side for every optimizer, then the val->test gap
of each optimizer, the LM cost, the Wilcoxon test of the best against the second-best optimizer
(paired by seed) and MIPRO against each baseline (per-example test scores pooled over seeds).
This module runs no model.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.paper.cells import Cell, collect_cells, ordered_optimizers
from benchmarks.paper.records import partition_by_src, stale_summary
from benchmarks.paper.stats import (
    ALPHA,
    REFERENCE,
    Comparison,
    PairedTest,
    compare_best_two,
    compare_with_baselines,
)

HASH_SHOWN = 12
"""Hex digits of a source hash shown in the table."""


def render_table(records: Sequence[Mapping[str, Any]], src_hash: str) -> str:
    """Markdown of the records made from the source tree ``src_hash``; the others are listed
    as stale and tabulated nowhere."""
    current, stale = partition_by_src(records, src_hash)
    lines = [*_provenance(current, src_hash, len(stale)), ""]
    if current:
        cells = collect_cells(current)
        tasks = sorted({task for task, _ in cells})
        optimizers = ordered_optimizers(optimizer for _, optimizer in cells)
        lines += _scores_section(cells, tasks, optimizers)
        lines += _gap_section(cells, optimizers)
        lines += _cost_section(cells, tasks, optimizers)
        lines += _best_two_section(cells, tasks)
        lines += _baselines_section(cells, tasks)
        lines += _sizes_section(current)
    else:
        lines += [f"No record was made from this source tree ({src_hash[:HASH_SHOWN]}): "
                  "nothing to tabulate.", ""]
    lines += _stale_section(stale)
    return "\n".join(lines).rstrip("\n") + "\n"


def _percent(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}"


def _points(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:+.1f}"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _task_cells(cells: Mapping[tuple[str, str], Cell], task: str) -> list[Cell]:
    return [cell for (name, _), cell in cells.items() if name == task]


def _scores_section(cells: Mapping[tuple[str, str], Cell], tasks: Sequence[str],
                    optimizers: Sequence[str]) -> list[str]:
    most_seeds = max(len(cell.seeds) for cell in cells.values())
    rows = []
    for task in tasks:
        best = max((c.mean("test") for c in _task_cells(cells, task)
                    if not math.isnan(c.mean("test"))), default=math.nan)
        row = [task]
        for optimizer in optimizers:
            cell = cells.get((task, optimizer))
            row += _dev_test(cell, best, most_seeds)
        rows.append(row)
    header = ["task"] + [f"{o} {split}" for o in optimizers for split in ("dev", "test")]
    return ["## Scores", "",
            f"Mean dev and test score in % over {most_seeds} seeds (fewer where a cell says "
            "n=); bold: the best test score of the task (ties all bold). Dev is the validation "
            "set the optimizer searched on, test is held out.", "",
            *_markdown_table(header, rows)]


def _dev_test(cell: Cell | None, best_test: float, most_seeds: int) -> list[str]:
    if cell is None:
        return ["not run", "not run"]
    test = _percent(cell.mean("test"))
    test = f"**{test}**" if cell.mean("test") == best_test else test
    if len(cell.seeds) < most_seeds:
        test += f" (n={len(cell.seeds)})"
    return [_percent(cell.mean("dev")), test]


def _gap_section(cells: Mapping[tuple[str, str], Cell], optimizers: Sequence[str]) -> list[str]:
    rows = []
    for optimizer in optimizers:
        mine = [cell for (_, name), cell in cells.items() if name == optimizer]
        gaps = [gap for cell in mine for gap in cell.gaps()]
        means = {split: _mean_over_runs(mine, split) for split in ("train", "dev", "test")}
        rows.append([optimizer, str(len(gaps)), _percent(means["train"]), _percent(means["dev"]),
                     _percent(means["test"]),
                     _points(statistics.fmean(gaps) if gaps else math.nan)])
    return ["## Val->test gap", "",
            "Per optimizer, over every task and seed: mean train, dev and test score in %, and "
            "the mean dev - test gap in points (positive: the program found on dev does worse "
            "on held-out data).", "",
            *_markdown_table(["optimizer", "runs", "train", "dev", "test", "dev - test"], rows)]


def _mean_over_runs(cells: Sequence[Cell], split: str) -> float:
    values = [v for cell in cells for v in cell.scores[split] if not math.isnan(v)]
    return statistics.fmean(values) if values else math.nan


def _cost_section(cells: Mapping[tuple[str, str], Cell], tasks: Sequence[str],
                  optimizers: Sequence[str]) -> list[str]:
    rows = [[task] + [_cost(cells.get((task, o))) for o in optimizers] for task in tasks]
    return ["## Cost", "",
            "Mean LM requests the optimizer made (task + prompt LM), of them not answered by "
            "the reply cache, and mean wall time of a whole run (optimization and the three "
            "evaluations). A request an earlier run already made (the same prompt: every seed "
            "of `unoptimized` after the first, bootstrapping shared by optimizers with the same "
            "seed) is a cache hit and costs almost no time, so uncached calls and wall times "
            "depend on the order of the runs; requests do not.", "",
            *_markdown_table(["task", *optimizers], rows)]


def _cost(cell: Cell | None) -> str:
    if cell is None:
        return "not run"
    requests, calls = statistics.fmean(cell.lm_requests), statistics.fmean(cell.lm_calls)
    minutes = statistics.fmean(cell.wall_seconds) / 60
    return f"{requests:,.0f} requests ({calls:,.0f} uncached), {minutes:.1f} min"


def _best_two_section(cells: Mapping[tuple[str, str], Cell], tasks: Sequence[str]) -> list[str]:
    rows = [_comparison_row(compare_best_two(task, _task_cells(cells, task))) for task in tasks]
    return ["## Best against second best", "",
            "Wilcoxon signed-rank test (two-sided, paired by seed) on the mean test scores of "
            "the best and the second-best optimizer of each task.", "",
            *_markdown_table(["task", "best", "second", "paired seeds",
                              "mean difference (points)", "p-value", "note"], rows)]


def _comparison_row(comparison: Comparison) -> list[str]:
    return [comparison.task, comparison.best or "–", comparison.second or "–",
            str(comparison.pairs), _points(comparison.mean_difference),
            _p(comparison.p_value), comparison.note]


def _baselines_section(cells: Mapping[tuple[str, str], Cell], tasks: Sequence[str]) -> list[str]:
    tests = [test for task in tasks
             for test in compare_with_baselines(task, _task_cells(cells, task))]
    title = [f"## {REFERENCE} against each baseline", ""]
    if not tests:
        return title + [f"`{REFERENCE}` and another optimizer did not both run on any task.", ""]
    rows = [[t.task, t.baseline, str(t.seeds), str(t.pairs), _points(t.mean_difference),
             _p(t.p_value), t.verdict, t.note] for t in tests]
    return [*title,
            f"Wilcoxon signed-rank test (two-sided) of `{REFERENCE}` against each other "
            "optimizer on per-example test scores, pooled over the seeds both ran and paired by "
            f"(seed, example). Win / loss: p < {ALPHA} with {REFERENCE} ahead / behind; "
            "otherwise tie. The pairs of one example over seeds are not independent, so read "
            "the p-values as indicative.", "",
            *_markdown_table(["task", "baseline", "seeds", "pairs",
                              f"{REFERENCE} - baseline (points)", "p-value", "verdict", "note"],
                             rows),
            *_markdown_table(["baseline", "wins", "ties", "losses"], _verdict_rows(tests))]


def _verdict_rows(tests: Sequence[PairedTest]) -> list[list[str]]:
    counts: dict[str, Counter[str]] = {}
    for test in tests:
        counts.setdefault(test.baseline, Counter())[test.verdict] += 1
    return [[baseline, *(str(counts[baseline][v]) for v in ("win", "tie", "loss"))]
            for baseline in ordered_optimizers(counts)]


_SIZE_COLUMNS = ("train slice", "dev", "test", "minibatch_size", "num_trials", "num_candidates",
                 "demos (traced / labeled)")


def _sizes_section(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """One row per task and distinct sizes (more than one when records disagree)."""
    rows: dict[tuple[str, ...], None] = {}
    for record in records:
        settings = record["settings"]
        sizes, counts = settings["sizes"], settings["num_examples"]
        rows[(record["task"], *(str(counts[k]) for k in ("train", "dev", "test")),
              *(str(sizes[k]) for k in ("minibatch_size", "num_trials", "num_candidates")),
              f"{sizes['max_bootstrapped_demos']} / {sizes['max_labeled_demos']}")] = None
    return ["## Sizes", "", "Examples per split and search budget of each task (from the records).",
            "", *_markdown_table(["task", *_SIZE_COLUMNS], [list(row) for row in sorted(rows)])]


def _stale_section(stale: Sequence[Mapping[str, Any]]) -> list[str]:
    if not stale:
        return []
    lines = ["## Stale records", "",
             f"{len(stale)} records were made from another source tree and are in no table "
             "above. Rerunning the command that made them replaces them.", ""]
    for src_hash, names in stale_summary(stale):
        lines.append(f"- `{src_hash[:HASH_SHOWN]}` ({len(names)}): {', '.join(names)}")
    return lines + [""]


def _provenance(current: Sequence[Mapping[str, Any]], src_hash: str, stale: int) -> list[str]:
    """Where the numbers come from: source tree, LM, size profile, versions, number of runs."""
    def values(*keys: str) -> str:
        found = set()
        for record in current:
            value: Any = record
            for key in keys:
                value = value.get(key) if isinstance(value, Mapping) else None
            found.add(str(value))
        return ", ".join(sorted(found)) or "–"

    return [
        "# MIPRO paper benchmark (Table 2) on a local model", "",
        f"- source tree (`src/` hash): `{src_hash[:HASH_SHOWN]}`",
        f"- runs: {len(current)} (stale, not tabulated: {stale})",
        f"- task LM: {values('lm', 'model_id')}",
        f"- size profile: {values('settings', 'profile')}",
        f"- mipro version: {values('mipro_version')}",
    ]
