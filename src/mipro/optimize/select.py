"""Stage 5: select the winner among the fully evaluated configurations, and report the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mipro.optimize.run.records import FullEvaluation, OptimizationResult, RunUsage
from mipro.optimize.search import Search


def best_full_evaluation(evaluations: Sequence[FullEvaluation]) -> FullEvaluation:
    """The winner: highest full score, the earliest on ties (the baseline wins ties)."""
    return max(evaluations, key=lambda record: (record.score, -record.after_trial))


def select(search: Search, *, usage: RunUsage, skipped_proposals: int,
           rejected_proposals: Mapping[str, int]) -> OptimizationResult | None:
    """The run's result, with the best fully evaluated configuration; ``None`` when nothing was
    fully evaluated (the budget ran out first)."""
    evaluations = search.study.full_evaluations()
    if not evaluations:
        return None
    best = best_full_evaluation(evaluations)
    baseline = next((e for e in evaluations if e.after_trial == -1), None)
    return OptimizationResult(
        best_configuration=best.configuration, best_score=best.score,
        baseline_score=baseline.score if baseline else float("nan"),
        trials=tuple(search.study.completed_trials()), full_evaluations=tuple(evaluations),
        usage=usage, candidates=search.candidates, stopped_by_budget=search.stopped_by_budget,
        skipped_proposals=skipped_proposals + search.skipped_proposals,
        rejected_proposals=rejected_proposals,
        demo_set_overlap=search.candidates.demo_set_overlap(),
        proposal_model=search.strategy.proposal_model(search),
    )
