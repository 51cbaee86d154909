"""Records of an optimizer run: its trials, full evaluations and result (all frozen)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
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
    """A configuration scored on all the search's validation examples (``after_trial`` -1: the
    baseline)."""

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
class Contender:
    """One of the search's best configurations, compared with the program as given on the
    held-out validation examples at selection."""

    configuration: Configuration
    search_score: float
    """Its full score on the search's validation examples (what ranked it among the search's)."""
    holdout_score: float
    """Its mean score on the held-out examples."""
    difference: float
    """Its mean per-example difference from the program as given, on the held-out examples."""
    lower_bound: float
    """A lower confidence bound of ``difference``, at the selection's confidence."""


@dataclass(frozen=True, kw_only=True)
class Selection:
    """How the final program was chosen, and why (``select.py``, docs/selection.md)."""

    holdout_ids: tuple[int, ...]
    """The validation examples (indices into the valset) that no minibatch and no search-time
    full evaluation used: the candidates are compared, and the winner scored, on these."""
    confidence: float
    """The confidence with which a configuration must beat the program as given, and the level
    of ``score_interval``."""
    baseline_search_score: float
    """The program as given, scored on the search's examples."""
    baseline_holdout_score: float
    """The program as given, scored on the held-out examples."""
    contenders: tuple[Contender, ...]
    """The search's best configurations that were tested on the held-out examples, in order of
    search score (testing stops after the first that does not beat the program as given)."""
    chosen: int | None
    """Which of ``contenders`` won; ``None``: the program as given was kept."""
    reason: str
    """Why, in words: which configuration beat the program as given and by how much, or why
    none did."""
    score_interval: tuple[float, float]
    """Confidence interval of ``chosen_score`` (Wilson, at ``confidence``)."""

    @property
    def kept_baseline(self) -> bool:
        """Whether the program as given was kept."""
        return self.chosen is None

    @property
    def chosen_score(self) -> float:
        """The held-out score of the program chosen (``OptimizationResult.best_score``)."""
        if self.chosen is None:
            return self.baseline_holdout_score
        return self.contenders[self.chosen].holdout_score

    def as_dict(self) -> dict[str, Any]:
        """The selection as plain JSON."""
        return {**asdict(self), "holdout_ids": list(self.holdout_ids),
                "score_interval": list(self.score_interval)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Selection:
        """The inverse of ``as_dict``."""
        return cls(**{**data, "holdout_ids": tuple(data["holdout_ids"]),
                      "score_interval": tuple(data["score_interval"]),
                      "contenders": tuple(Contender(**c) for c in data["contenders"])})


@dataclass(frozen=True, kw_only=True)
class OptimizationResult:
    """What an optimizer run found and what it spent."""

    best_configuration: Configuration
    """The winner: the program as given, unless a candidate beat it with the stated confidence
    on held-out validation examples (``selection``)."""
    best_score: float
    """The winner's mean score on the held-out validation examples, which did not steer the
    search: an honest estimate (its interval is ``selection.score_interval``)."""
    baseline_score: float
    """The program as given, on the same held-out examples."""
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
    selection: Selection | None = None
    """How the winner was chosen (``None`` when the budget ran out before the search)."""


def result_summary(result: OptimizationResult, program_failures: int = 0) -> dict[str, Any]:
    """What a study keeps of a finished run's result beyond its trials and evaluations: the
    usage, the counts, how the winner was selected, and every other plain field."""
    summary: dict[str, Any] = {"usage": result.usage.as_dict(), "program_failures": program_failures}
    if result.selection is not None:
        summary["selection"] = result.selection.as_dict()
    for entry in fields(result):
        value = getattr(result, entry.name)
        if isinstance(value, (bool, int, float, str)) or value is None:
            summary.setdefault(entry.name, value)
    return summary
