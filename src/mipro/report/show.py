"""``show_run``: a run's summary in the terminal (rich)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from mipro.optimize.loaded import LoadedRun
from mipro.optimize.run.candidates import describe_configuration


def show_run(run: LoadedRun, console: Console) -> None:
    """Print what ``run`` tried, its winner against the program as given, the winner's
    instructions, the LM usage and the failures."""
    baseline = run.baseline()
    status = "finished" if run.finished else "running (or stopped before selecting a winner)"
    console.print(f"[bold]Run {run.run_name}[/bold]  {status}  {len(run.trials)} trials, "
                  f"{len(run.full_evaluations)} full evaluations", highlight=False)
    selection = run.result.selection if run.result else None
    if selection is not None:
        low, high = selection.score_interval
        console.print(f"Winner {_score(selection.chosen_score)} on the "
                      f"{selection.examples.describe()} ({selection.confidence:.0%} interval "
                      f"{_score(low)} to {_score(high)}); the program as given "
                      f"{_score(selection.baseline_holdout_score)}", highlight=False)
        console.print(f"Selection at {selection.confidence:.0%} confidence: {selection.reason}",
                      highlight=False, markup=False)
        _print_held_out(run, console)
    else:
        console.print(f"Best so far {_score(run.winner.score if run.winner else None)} on the "
                      f"search's examples; the program as given "
                      f"{_score(baseline.score if baseline else None)}", highlight=False)
    evaluations = Table(title="Full evaluations", title_justify="left")
    for column in ("after", "configuration", "score", "failed"):
        evaluations.add_column(column)
    for evaluation in sorted(run.full_evaluations, key=lambda e: e.after_trial):
        won = run.winner is not None and evaluation.configuration == run.winner.configuration
        evaluations.add_row("given" if evaluation.after_trial < 0 else f"trial {evaluation.after_trial + 1}",
                            describe_configuration(evaluation.configuration),
                            _score(evaluation.score), str(evaluation.num_failed),
                            style="bold yellow" if won else None)
    console.print(evaluations)
    if run.winner is not None and run.candidates is not None:
        for name, options in run.candidates.predictors.items():
            index = run.winner.configuration.get(f"{name}.instruction", 0)
            demos = run.winner.configuration.get(f"{name}.demos", 0)
            console.print(f"[bold]{name}[/bold] instruction {index}, demo set {demos} "
                          f"({len(options.demo_sets[demos])} demos):", highlight=False)
            console.print(f"  {options.instructions[index]}", highlight=False, markup=False)
    if run.usage is not None:
        if run.usage.stages:
            stages = Table(title="LM usage per stage (the whole run)", title_justify="left")
            for column in ("stage", "calls", "cache hits", "tokens in", "tokens out",
                           "LM seconds", "wall seconds"):
                stages.add_column(column)
            for stage, spent in run.usage.stages.items():
                stages.add_row(stage, str(spent.calls), str(spent.cache_hits),
                               str(spent.prompt_tokens), str(spent.completion_tokens),
                               f"{spent.seconds:.1f}", f"{spent.wall_seconds:.1f}")
            console.print(stages)
        usage = Table(title="LM usage per role (the last compile call)", title_justify="left")
        for column in ("LM", "calls", "cache hits", "tokens in", "tokens out", "seconds", "parse failures"):
            usage.add_column(column)
        for role, values in run.usage.roles().items():
            usage.add_row(role, str(values.calls), str(values.cache_hits),
                          str(values.prompt_tokens), str(values.completion_tokens),
                          f"{values.seconds:.1f}", str(sum(values.parse_failures.values())))
        console.print(usage)
    if run.summary:
        console.print(f"Skipped proposals {run.summary.get('skipped_proposals', 0)}, examples on "
                      f"which the program raised {run.summary.get('program_failures', 0)}"
                      + (", stopped by the LM-call budget" if run.summary.get("stopped_by_budget") else ""),
                      highlight=False)
    console.print(f"Dashboard: optuna-dashboard {run.storage}", highlight=False, markup=False)


def _print_held_out(run: LoadedRun, console: Console) -> None:
    """The held-out comparison: the program as given and each configuration selection tested."""
    selection = run.result.selection if run.result else None
    if selection is None:
        return
    table = Table(title=f"Held-out comparison ({selection.examples.size} examples)",
                  title_justify="left")
    for column in ("configuration", "search", "held-out", "better/worse/tied", "difference",
                   "lower bound"):
        table.add_column(column)
    table.add_row("the program as given", _score(selection.baseline_search_score),
                  _score(selection.baseline_holdout_score), "", "", "",
                  style="bold yellow" if selection.chosen is None else None)
    for index, contender in enumerate(selection.contenders):
        counts = run.against_baseline(contender.configuration)
        table.add_row(describe_configuration(contender.configuration),
                      _score(contender.search_score), _score(contender.holdout_score),
                      "/".join(map(str, counts)) if counts else "–",
                      f"{contender.difference:+.3f}", f"{contender.lower_bound:+.3f}",
                      style="bold yellow" if index == selection.chosen else None)
    console.print(table)


def _score(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"
