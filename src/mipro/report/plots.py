"""The report's plots (matplotlib, the ``[report]`` extra): the trial curve and the parameter
importances, as SVG text for the page or PNG files for a README."""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

import optuna

from mipro.errors import ConfigurationError
from mipro.optimize.loaded import LoadedRun

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MIN_TRIALS_FOR_IMPORTANCES = 4


def _figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ConfigurationError("the report's plots need matplotlib: "
                                 "pip install 'mipro[report]'") from error
    return Figure(figsize=(width, height), layout="constrained")


def trial_curve(run: LoadedRun) -> Figure:
    """Minibatch score per trial (dots), full-validation scores (diamonds, at the trial they
    followed) and the best full score so far (the winner's line)."""
    figure = _figure(8, 3.6)
    axes = figure.add_subplot()
    numbers = [t.number + 1 for t in run.trials]
    axes.scatter(numbers, [t.minibatch_score for t in run.trials], s=18, color="#8aa4c8",
                 label="minibatch score (one trial)")
    full = sorted(run.full_evaluations, key=lambda e: e.after_trial)
    xs = [e.after_trial + 1 for e in full]
    axes.scatter(xs, [e.score for e in full], marker="D", s=40, color="#d1603d", zorder=3,
                 label="full validation score")
    best, steps = float("-inf"), []
    for evaluation in full:
        best = max(best, evaluation.score)
        steps.append(best)
    if full:
        last = max([*xs, *numbers])
        axes.step([*xs, last], [*steps, steps[-1]], where="post", color="#d1603d", alpha=0.6,
                  label="best full score so far")
    if run.winner is not None:
        axes.scatter([run.winner.after_trial + 1], [run.winner.score], marker="*", s=220,
                     color="#f2b134", edgecolors="black", zorder=4, label="winner")
    axes.set_xlabel("trial (0: the program as given)")
    axes.set_ylabel("score")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    return figure


def importances(run: LoadedRun) -> Figure | None:
    """Optuna's parameter importances of the minibatch score; ``None`` with fewer than
    ``MIN_TRIALS_FOR_IMPORTANCES`` trials or when every trial tried the same values."""
    if len(run.trials) < MIN_TRIALS_FOR_IMPORTANCES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(run.study)
    except (RuntimeError, ValueError):
        return None
    if not values:
        return None
    names = list(values)[::-1]
    figure = _figure(8, 0.5 + 0.4 * len(names))
    axes = figure.add_subplot()
    axes.barh(names, [values[n] for n in names], color="#5b8a72")
    axes.set_xlabel("importance for the minibatch score (optuna)")
    return figure


def svg(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def png(figure: Figure, path: str) -> None:
    figure.savefig(path, format="png", dpi=120)
