"""Records of an optimizer run: its trials, full evaluations and result (all frozen)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from mipro.lm.usage import UsageSnapshot
from mipro.optimize.run.candidates import Candidates, Configuration


@dataclass(frozen=True, kw_only=True)
class TrialRecord:
    """One trial of the search: a configuration scored on a minibatch."""

    number: int
    configuration: Configuration
    minibatch_ids: tuple[int, ...]
    minibatch_score: float


@dataclass(frozen=True, kw_only=True)
class FullEvaluation:
    """A configuration scored on the whole validation set (``after_trial`` -1: the baseline)."""

    configuration: Configuration
    score: float
    after_trial: int
    num_failed: int = 0


@dataclass(frozen=True, kw_only=True)
class ProposalModel:
    """MIPRO++'s model of how to propose: its study, and how much each proposal
    hyperparameter mattered to the score (empty with fewer than two scored proposals)."""

    study_name: str
    importances: Mapping[str, float]


@dataclass(frozen=True, kw_only=True)
class RunUsage:
    """What each LM of a run spent (calls, cache hits, tokens, time), apart by role."""

    task_lm: UsageSnapshot
    prompt_lm: UsageSnapshot
    teacher_lm: UsageSnapshot | None = None

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """``{"task_lm": {...}, "prompt_lm": {...}[, "teacher_lm": {...}]}`` as plain JSON."""
        roles = {"task_lm": self.task_lm, "prompt_lm": self.prompt_lm, "teacher_lm": self.teacher_lm}
        return {role: usage.as_dict() for role, usage in roles.items() if usage is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]]) -> RunUsage:
        """The inverse of ``as_dict``."""
        snapshots = {role: UsageSnapshot(**values) for role, values in data.items()}
        return cls(**snapshots)


@dataclass(frozen=True, kw_only=True)
class OptimizationResult:
    """What an optimizer run found and what it spent."""

    best_configuration: Configuration
    """The winner: the highest full-validation score (the program as given wins ties)."""
    best_score: float
    baseline_score: float
    """The full-validation score of the program as given."""
    trials: tuple[TrialRecord, ...]
    full_evaluations: tuple[FullEvaluation, ...]
    usage: RunUsage
    candidates: Candidates | None = None
    stopped_by_budget: bool = False
    skipped_proposals: int = 0
    """Proposals that gave no candidate: unparseable, or rejected (after a re-ask, if any)."""
    rejected_proposals: Mapping[str, int] = field(default_factory=dict)
    """Rejected upfront proposal replies by reason (``proposal_filter.REJECT_REASONS``),
    re-asked ones included."""
    demo_set_overlap: float | None = None
    """How much the demo-set candidates overlap (``Candidates.demo_set_overlap``)."""
    proposal_model: ProposalModel | None = None
    """MIPRO++'s model of how to propose (``None`` for the other optimizers)."""


def result_summary(result: OptimizationResult, program_failures: int = 0) -> dict[str, Any]:
    """What a study keeps of a finished run's result beyond its trials and evaluations: the
    usage, the counts, and every other plain field (e.g. how the winner was selected)."""
    summary: dict[str, Any] = {"usage": result.usage.as_dict(), "program_failures": program_failures}
    for entry in fields(result):
        value = getattr(result, entry.name)
        if isinstance(value, (bool, int, float, str)) or value is None:
            summary[entry.name] = value
    return summary
