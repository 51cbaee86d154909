"""What a study shows to a person (e.g. in optuna-dashboard): each trial's instruction text and
demo summary per predictor, its full-evaluation score, the winner, and a note listing every
candidate.

Optuna's own parameters are candidate indices (``classify.instruction: 1``); these user
attributes say what the indices stand for, as plain strings, so a study is readable without
mipro. The note is optuna-dashboard's study note (Markdown), written when optuna-dashboard (the
``dashboard`` extra) is installed.
"""

from __future__ import annotations

from typing import Any

import optuna

from mipro.optimize.run.candidates import (
    Candidates,
    Configuration,
    demos_param,
    describe_configuration,
    instruction_param,
)

METRIC_NAME = "minibatch score"
"""The name of the objective: a trial's value is its score on one minibatch."""
FULL_SCORE = "full score"
"""Trial attribute: the full-validation score of the trial's configuration, once it has one."""
WINNER = "winner"
"""Study attribute (the winning configuration and score) and trial attribute (``True``)."""

_DEMO_PREVIEW = 60


def instruction_attr(predictor: str) -> str:
    return f"{predictor}: instruction"


def demos_attr(predictor: str) -> str:
    return f"{predictor}: demos"


def trial_attributes(candidates: Candidates, configuration: Configuration) -> dict[str, str]:
    """``{"<predictor>: instruction": text, "<predictor>: demos": summary}`` per predictor."""
    attributes: dict[str, str] = {}
    for name, options in candidates.predictors.items():
        instruction = configuration.get(instruction_param(name), 0)
        demos = configuration.get(demos_param(name), 0)
        if instruction < len(options.instructions):
            attributes[instruction_attr(name)] = options.instructions[instruction]
        if demos < len(options.demo_sets):
            attributes[demos_attr(name)] = summarize_demos(demos, options.demo_sets[demos])
    return attributes


def summarize_demos(index: int, demo_set: Any) -> str:
    """``set 2: 3 demos: question=q12 answer=a12 | ...`` (each demo shortened)."""
    demos = [" ".join(f"{k}={v}" for k, v in demo.items())[:_DEMO_PREVIEW] for demo in demo_set]
    return f"set {index}: {len(demos)} demos" + (": " + " | ".join(demos) if demos else "")


def candidates_note(run_name: str, candidates: Candidates, *, winner: Configuration | None = None,
                    decision: str | None = None) -> str:
    """The run's candidates as Markdown: per predictor every instruction and demo set with its
    index (the trials' parameters), how each instruction was proposed, and once selected, the
    winner (its candidates marked) and ``decision``, why it was chosen."""
    lines = [f"# mipro run `{run_name}`", ""]
    if winner is not None:
        lines += [f"**Winner**: `{describe_configuration(winner)}`"
                  + (f". Selection {decision}." if decision else ""), ""]
    lines += ["A trial's parameters are indices into these candidates; index 0 is the program "
              "as given.", ""]
    for name, options in candidates.predictors.items():
        chosen_instruction = winner.get(instruction_param(name)) if winner else None
        chosen_demos = winner.get(demos_param(name)) if winner else None
        lines += [f"## {name}", "", "Instructions:", ""]
        for index, (text, proposal) in enumerate(zip(options.instructions, options.proposals)):
            origin = "the original" if index == 0 else _origin(proposal)
            mark = " **(winner)**" if index == chosen_instruction else ""
            lines.append(f"- **{index}** ({origin}){mark}: {_one_line(text)}")
        lines += ["", "Demo sets:", ""]
        for index, demo_set in enumerate(options.demo_sets):
            mark = " **(winner)**" if index == chosen_demos else ""
            lines.append(f"- {summarize_demos(index, demo_set)}{mark}")
        lines.append("")
    return "\n".join(lines)


def save_dashboard_note(study: optuna.Study, body: str) -> bool:
    """Make ``body`` the study's note in optuna-dashboard; ``False`` (and nothing written)
    when optuna-dashboard is not installed."""
    try:
        from optuna_dashboard import save_note
    except ImportError:
        return False
    save_note(study, body)
    return True


def _origin(proposal: Any) -> str:
    if proposal is None:
        return "given"
    when = f"trial {proposal.trial + 1}" if proposal.trial is not None else "before the search"
    return f"proposed {when}, tip {proposal.tip!r}, {proposal.form}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
