"""``write_report``: one self-contained HTML file about a run. Plots are inline SVG; nothing is
fetched (a Content-Security-Policy forbids any external resource), so the file can be mailed,
attached to CI or opened offline."""

from __future__ import annotations

import html
import math
from pathlib import Path

from mipro._version import __version__
from mipro.optimize.loaded import LoadedRun
from mipro.optimize.run.candidates import describe_configuration
from mipro.report import plots
from mipro.report.diff import demo_lines, diff_html, lines_diff_html

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; } td, th { padding: .25em .7em; border-bottom: 1px solid #eee;
  text-align: left; } th { background: #f5f5f5; } tr.winner { background: #fff4d6; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
pre, .prompt { white-space: pre-wrap; background: #fafafa; border: 1px solid #eee; padding: .6em; }
del { background: #fbd3d0; text-decoration: line-through; } ins { background: #cdeccf; text-decoration: none; }
.muted { color: #777; } .plot svg { max-width: 100%; height: auto; }
"""
_USAGE_COLUMNS = ("calls", "requests", "cache_hits", "prompt_tokens", "completion_tokens",
                  "seconds", "retries", "errors")
_SHOWN_ELSEWHERE = {"usage", "best_score", "baseline_score", "best_configuration",
                    "skipped_proposals", "program_failures", "stopped_by_budget", "selection"}


def write_report(run: LoadedRun, out: Path, *, png_dir: Path | None = None) -> Path:
    """Write the HTML report of ``run`` to ``out`` (and its plots as PNG files into
    ``png_dir``); returns ``out``."""
    curve, importances = plots.trial_curve(run), plots.importances(run)
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        plots.png(curve, str(png_dir / "trial_curve.png"))
        if importances is not None:
            plots.png(importances, str(png_dir / "importances.png"))
    sections = [
        _overview(run),
        _section("Trials", f'<div class="plot" id="trial-curve">{plots.svg(curve)}</div>'),
        _section("Parameter importances", (
            f'<div class="plot" id="importances">{plots.svg(importances)}</div>'
            if importances is not None else
            f'<p class="muted">Not enough trials (at least {plots.MIN_TRIALS_FOR_IMPORTANCES}, '
            "with different values) for importances.</p>")),
        _prompts(run),
        _selection(run),
        _usage(run),
        _failures(run),
    ]
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f"<title>mipro run {html.escape(run.run_name)}</title><style>{_STYLE}</style></head>"
            f"<body>{''.join(sections)}<p class='muted'>mipro {__version__}</p></body></html>\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>{body}"


def _score(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"


def _table(headers: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr class='{(classes or [''] * len(rows))[i]}'>" + "".join(f"<td>{c}</td>" for c in row)
        + "</tr>" for i, row in enumerate(rows))
    return f"<table><tr>{head}</tr>{body}</table>"


def _overview(run: LoadedRun) -> str:
    baseline = run.baseline()
    status = "finished" if run.finished else "running, or stopped before selecting a winner"
    settings = run.settings
    rows = [
        ["Run", html.escape(run.run_name)], ["Status", status],
        ["Optimizer", html.escape(str(settings.get("optimizer", "?")))],
        ["Task LM", html.escape(str(settings.get("task_lm", "?")))],
        ["Trials", str(len(run.trials))], ["Full evaluations", str(len(run.full_evaluations))],
        *_scores(run),
        ["Storage", f"<code>{html.escape(run.storage)}</code>"],
        ["Dashboard", f"<code>optuna-dashboard {html.escape(run.storage)}</code>"],
    ]
    return (f"<h1>mipro run <code>{html.escape(run.run_name)}</code></h1>"
            + _table(["", ""], rows))


def _prompts(run: LoadedRun) -> str:
    if run.candidates is None or run.winner is None:
        return _section("Prompts", "<p class='muted'>No winner yet.</p>")
    parts = []
    for name, options in run.candidates.predictors.items():
        instruction = run.winner.configuration.get(f"{name}.instruction", 0)
        demos = run.winner.configuration.get(f"{name}.demos", 0)
        before, after = options.instructions[0], options.instructions[instruction]
        parts.append(
            f"<h3>{html.escape(name)}</h3>"
            f"<p>Instruction {instruction} (0 is the original)"
            f"{'' if instruction else ': unchanged'}:</p>"
            f"<div class='prompt instruction-diff'>{diff_html(before, after)}</div>"
            f"<p>Demo set {demos} ({len(options.demo_sets[demos])} demos; the original has "
            f"{len(options.demo_sets[0])}):</p>"
            f"<pre class='demo-diff'>"
            f"{lines_diff_html(demo_lines(options.demo_sets[0]), demo_lines(options.demo_sets[demos]))}"
            "</pre>")
    return _section("The winner's prompt against the original", "".join(parts))


def _selection(run: LoadedRun) -> str:
    rows, classes = [], []
    for evaluation in sorted(run.full_evaluations, key=lambda e: e.after_trial):
        won = run.winner is not None and evaluation.configuration == run.winner.configuration
        after = "the program as given" if evaluation.after_trial < 0 else f"trial {evaluation.after_trial + 1}"
        rows.append([after, html.escape(describe_configuration(evaluation.configuration)),
                     f"<span class='num'>{_score(evaluation.score)}</span>",
                     str(evaluation.num_failed), "winner" if won else ""])
        classes.append("winner" if won else "")
    table = _table(["evaluated after", "configuration", "full score", "failed examples", ""],
                   rows, classes)
    extra = {k: v for k, v in run.summary.items() if k not in _SHOWN_ELSEWHERE and v is not None}
    details = _table(["field", "value"], [[html.escape(k), html.escape(str(v))]
                                          for k, v in extra.items()]) if extra else ""
    rule = ("<p>Minibatch scores guide the search; full scores, on the search's half of the "
            "validation set, rank the configurations; selection compares the best of them with the "
            "program as given on the held-out half (docs/selection.md).</p>")
    return _section("Selection", rule + table + _held_out(run) + details)


def _scores(run: LoadedRun) -> list[list[str]]:
    """The overview's score rows: held-out scores once selected, else the search's so far."""
    selection = run.result.selection if run.result else None
    if selection is None:
        baseline = run.baseline()
        return [["Best so far (search's full score)", _score(run.winner.score if run.winner else None)],
                ["Program as given (search's full score)", _score(baseline.score if baseline else None)]]
    low, high = selection.score_interval
    held_out = selection.examples.describe()
    return [[f"Winner ({held_out})", f"{_score(selection.chosen_score)} "
             f"({selection.confidence:.0%} interval {_score(low)} to {_score(high)})"],
            [f"Program as given ({held_out})", _score(selection.baseline_holdout_score)],
            ["Selection", html.escape(selection.reason)]]


def _held_out(run: LoadedRun) -> str:
    """The held-out comparison: the program as given and each configuration tested."""
    selection = run.result.selection if run.result else None
    if selection is None:
        return ""
    rows = [["the program as given", _score(selection.baseline_search_score),
             f"<span class='num'>{_score(selection.baseline_holdout_score)}</span>", "", "", "",
             "winner" if selection.chosen is None else ""]]
    for index, contender in enumerate(selection.contenders):
        counts = run.against_baseline(contender.configuration)
        rows.append([html.escape(describe_configuration(contender.configuration)),
                     _score(contender.search_score),
                     f"<span class='num'>{_score(contender.holdout_score)}</span>",
                     " / ".join(map(str, counts)) if counts else "–",
                     f"{contender.difference:+.3f}", f"{contender.lower_bound:+.3f}",
                     "winner" if index == selection.chosen else ""])
    classes = ["winner" if row[-1] else "" for row in rows]
    low, high = selection.score_interval
    head = (f"<p id='selection-decision'>On the {selection.examples.describe()}, "
            f"at {selection.confidence:.0%} confidence: {html.escape(selection.reason)}. The "
            f"chosen program scores {_score(selection.chosen_score)} on them "
            f"({selection.confidence:.0%} interval {_score(low)} to {_score(high)}).</p>")
    return head + _table(["configuration", "search score", "held-out score",
                          "examples better / worse / tied", "difference", "lower bound", ""],
                         rows, classes)


def _usage(run: LoadedRun) -> str:
    if run.usage is None:
        return _section("LM usage", "<p class='muted'>Stored when the run finishes.</p>")
    stages = [[html.escape(stage)] + [f"<span class='num'>{value}</span>" for value in (
        usage.calls, usage.cache_hits, usage.prompt_tokens, usage.completion_tokens,
        f"{usage.seconds:.1f}", f"{usage.wall_seconds:.1f}")]
        for stage, usage in run.usage.stages.items()]
    per_stage = (_section("LM usage per stage", (
        "<p>Every LM, over the whole run (every process and resume).</p>"
        + _table(["stage", "calls", "cache hits", "tokens in", "tokens out", "LM seconds",
                  "wall seconds"], stages))) if stages else "")
    roles = run.usage.as_dict()
    rows = [[html.escape(role)] + [f"<span class='num'>{roles[role][c]}</span>" for c in _USAGE_COLUMNS]
            for role in run.usage.roles()]
    return per_stage + _section("LM usage per role", (
        "<p>In the run's last <code>compile</code> call.</p>"
        + _table(["LM", *_USAGE_COLUMNS], rows)))


def _failures(run: LoadedRun) -> str:
    parse: dict[str, int] = {}
    if run.usage is not None:
        for usage in run.usage.roles().values():
            for predictor, count in usage.parse_failures.items():
                parse[predictor] = parse.get(predictor, 0) + count
    rows = [[f"replies that did not parse ({html.escape(p)})", str(c)] for p, c in sorted(parse.items())]
    if not parse:
        rows.append(["replies that did not parse", "0"])
    for key, label in (("skipped_proposals", "skipped proposals (unparseable or repeated)"),
                       ("program_failures", "examples on which the program raised"),
                       ("stopped_by_budget", "stopped by the LM-call budget")):
        if key in run.summary:
            rows.append([label, html.escape(str(run.summary[key]))])
    return _section("Failures", _table(["what", "count"], rows))
