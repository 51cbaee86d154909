"""``load_run``: a finished or running optimizer run, read back from its study (no LM needed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import optuna

from mipro.errors import ConfigurationError
from mipro.optimize.run.candidates import (
    Candidates,
    Configuration,
    build_program,
    configuration_key,
)
from mipro.optimize.run.records import (
    FullEvaluation,
    OptimizationResult,
    RunUsage,
    Selection,
    TrialRecord,
)
from mipro.optimize.run.readable import WINNER
from mipro.optimize.run.storage import absolute_url, storage_url
from mipro.optimize.run.study import RunStudy
from mipro.optimize.select import best_full_evaluation
from mipro.program import Module


@dataclass(frozen=True, kw_only=True)
class LoadedRun:
    """What a run's study holds. ``result`` and ``usage`` are ``None`` while it is running (or
    when it stopped before selecting a winner); ``winner`` is the full evaluation of the
    selected configuration, or while the run goes on the best fully evaluated one so far."""

    run_name: str
    storage: str
    """The absolute storage URL (``optuna-dashboard <storage>`` shows the study)."""
    settings: Mapping[str, Any]
    """The arguments that identify the run (its fingerprint)."""
    candidates: Candidates | None
    trials: tuple[TrialRecord, ...]
    full_evaluations: tuple[FullEvaluation, ...]
    winner: FullEvaluation | None
    usage: RunUsage | None
    result: OptimizationResult | None
    summary: Mapping[str, Any]
    """The stored result fields (counts, selection details), empty while running."""
    study: optuna.Study
    """The Optuna study itself (e.g. for ``optuna.importance``)."""
    holdout_scores: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """The per-example scores on the held-out examples of every configuration selection has
    scored so far, by ``configuration_key`` (see ``held_out``)."""

    @property
    def finished(self) -> bool:
        return self.result is not None

    def baseline(self) -> FullEvaluation | None:
        """The full evaluation of the program as given."""
        return next((e for e in self.full_evaluations if e.after_trial == -1), None)

    def build(self, program: Module, configuration: Configuration | None = None) -> Module:
        """``program`` with the winner's (or ``configuration``'s) instructions and demos."""
        chosen = configuration if configuration is not None else self.winner_configuration()
        if self.candidates is None:
            raise ConfigurationError(f"run {self.run_name!r} has no candidates yet")
        return build_program(program, self.candidates, chosen)

    def held_out(self, configuration: Configuration) -> tuple[float, ...] | None:
        """``configuration``'s score on each held-out example (in the order of
        ``result.selection.holdout_ids``), or ``None`` if selection has not scored it."""
        return self.holdout_scores.get(configuration_key(configuration))

    def against_baseline(self, configuration: Configuration) -> tuple[int, int, int] | None:
        """On how many held-out examples ``configuration`` scored better than, worse than and
        the same as the program as given (``None`` until selection has scored both)."""
        baseline = self.baseline()
        reference = self.held_out(baseline.configuration) if baseline else None
        scores = self.held_out(configuration)
        if reference is None or scores is None:
            return None
        pairs = list(zip(scores, reference))
        better = sum(score > base for score, base in pairs)
        worse = sum(score < base for score, base in pairs)
        return better, worse, len(pairs) - better - worse

    def winner_configuration(self) -> Configuration:
        if self.winner is None:
            raise ConfigurationError(f"run {self.run_name!r} has no fully evaluated configuration yet")
        return self.winner.configuration


_GIVEN = ("usage", "best_score", "baseline_score", "best_configuration", "selection")


def load_run(run_name: str, storage: str | None = None) -> LoadedRun:
    """Read the run ``run_name`` from ``storage`` (default ``./mipro_runs/<run_name>.db``),
    finished or still running; raises ``ConfigurationError`` naming the runs stored there when
    there is no such run."""
    url = absolute_url(storage) if storage else storage_url(run_name, None)
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and not Path(path).is_file():
        raise ConfigurationError(f"no run storage at {path} (give the storage URL of the run)")
    names = [s.study_name for s in optuna.get_all_study_summaries(url, include_best_trial=False)]
    if run_name not in names:
        raise ConfigurationError(f"no run {run_name!r} in {url}; it holds: "
                                 f"{', '.join(sorted(n for n in names if ':' not in n)) or 'nothing'}")
    study = RunStudy.open_existing(run_name, url)
    attrs = study.study.user_attrs
    trials = tuple(study.finished_trials())
    evaluations = tuple(study.full_evaluations())
    winner = _winner(attrs.get(WINNER), evaluations)
    candidates = study.load_candidates()
    summary = dict(attrs.get("result") or {})
    usage = RunUsage.from_dict(summary["usage"]) if "usage" in summary else None
    result = None
    if usage is not None and winner is not None:
        known = {f.name for f in fields(OptimizationResult)}
        selection = Selection.from_dict(summary["selection"]) if "selection" in summary else None
        result = OptimizationResult(
            best_configuration=winner.configuration,
            best_score=selection.chosen_score if selection else float("nan"),
            baseline_score=selection.baseline_holdout_score if selection else float("nan"),
            trials=trials, full_evaluations=evaluations, usage=usage, candidates=candidates,
            selection=selection,
            **{k: v for k, v in summary.items() if k in known and k not in _GIVEN},
        )
    held_out = {configuration_key(e.configuration): scores for e in evaluations
                if (scores := study.holdout_scores(e.configuration)) is not None}
    return LoadedRun(run_name=run_name, storage=url, settings=dict(study.fingerprint),
                     candidates=candidates, trials=trials, full_evaluations=evaluations,
                     winner=winner, usage=usage, result=result, summary=summary, study=study.study,
                     holdout_scores=held_out)


def _winner(stored: Mapping[str, Any] | None,
            evaluations: tuple[FullEvaluation, ...]) -> FullEvaluation | None:
    """The winner the run marked; while it runs, the best fully evaluated configuration."""
    if stored is not None:
        marked = next((e for e in evaluations if e.configuration == stored["configuration"]), None)
        if marked is not None:
            return marked
    return best_full_evaluation(evaluations) if evaluations else None
