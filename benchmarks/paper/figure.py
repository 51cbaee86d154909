"""``scores.png``: test score per optimizer per task, a bar for the mean and a dot per seed.

Drawn on a ``matplotlib.figure.Figure`` (no pyplot), so no global backend is chosen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from benchmarks.paper.cells import Cell, ordered_optimizers

_COLUMNS = 3


def save_scores_figure(cells: Mapping[tuple[str, str], Cell], path: Path) -> None:
    """One panel per task: mean test score per optimizer (bars) and every seed's score (dots)."""
    tasks = sorted({task for task, _ in cells})
    optimizers = ordered_optimizers(optimizer for _, optimizer in cells)
    columns = min(_COLUMNS, max(1, len(tasks)))
    rows = max(1, math.ceil(len(tasks) / columns))
    figure = Figure(figsize=(4.4 * columns, 3.6 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    colors = colormaps["tab10"]
    for axis, task in zip(axes.flat, tasks):
        for x, optimizer in enumerate(optimizers):
            cell = cells.get((task, optimizer))
            if cell is not None:
                _draw_cell(axis, x, cell, colors(x % 10))
        axis.set_title(task)
        axis.set_xticks(range(len(optimizers)), optimizers, rotation=35, ha="right", fontsize=8)
        axis.set_ylim(0, 100)
        axis.set_ylabel("test score (%)")
        axis.grid(axis="y", alpha=0.3)
    for axis in list(axes.flat)[len(tasks):]:
        axis.set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def _draw_cell(axis: Axes, x: int, cell: Cell, color: tuple[float, ...]) -> None:
    scores = [100 * s for s in cell.scores["test"] if not math.isnan(s)]
    if not scores:
        return
    axis.bar(x, sum(scores) / len(scores), width=0.7, color=color, alpha=0.45)
    offsets = [0.18 * (i - (len(scores) - 1) / 2) / max(1, len(scores) - 1) for i in range(len(scores))]
    axis.scatter([x + o for o in offsets], scores, color=color, edgecolor="black", s=18, zorder=3)
