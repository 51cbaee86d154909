"""Records of an optimizer run: its trials, full evaluations and result (all frozen)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from mipro.lm.usage import UsageSnapshot
from mipro.optimize.run.candidates import Candidates, Configuration


@dataclass(frozen=True, kw_only=True)
class TrialRecord:
    """One trial of the search: a configuration scored on a minibatch (``pruned``: stopped
    early as hopeless, scored on ``minibatch_ids``, a part of it)."""

    number: int
    configuration: Configuration
    minibatch_ids: tuple[int, ...]
    minibatch_score: float
    pruned: bool = False


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


STAGES = ("bootstrap", "ground", "propose", "search", "select")
"""The stages of a run, in order (``optimizer.py``)."""


@dataclass(frozen=True, kw_only=True)
class StageUsage:
    """What one stage of a run spent, over every LM it used."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    """Time spent in LM calls (parallel calls add up)."""
    wall_seconds: float = 0.0
    """Wall-clock time of the stage."""

    @classmethod
    def of(cls, spent: UsageSnapshot, wall_seconds: float = 0.0) -> StageUsage:
        """The calls, cache hits, tokens and time of ``spent`` (one LM's usage in a stage)."""
        return cls(calls=spent.calls, cache_hits=spent.cache_hits,
                   prompt_tokens=spent.prompt_tokens, completion_tokens=spent.completion_tokens,
                   seconds=spent.seconds, wall_seconds=wall_seconds)

    def __add__(self, other: StageUsage) -> StageUsage:
        return StageUsage(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                             for f in fields(self)})


@dataclass(frozen=True, kw_only=True)
class RunUsage:
    """What a run spent: per LM role (calls, cache hits, tokens, time, retries, parse
    failures) in this ``compile`` call, and per stage (``STAGES``) over the whole run, every
    process and resume included (stored in the run's study)."""

    task_lm: UsageSnapshot
    """The program's calls (with whichever LM each predictor calls)."""
    prompt_lm: UsageSnapshot
    teacher_lm: UsageSnapshot | None = None
    stages: Mapping[str, StageUsage] = field(default_factory=dict)
    """Stage name -> what it spent; a stage that has not run is missing."""

    def roles(self) -> dict[str, UsageSnapshot]:
        """``{"task_lm": ..., "prompt_lm": ...[, "teacher_lm": ...]}``."""
        roles = {"task_lm": self.task_lm, "prompt_lm": self.prompt_lm, "teacher_lm": self.teacher_lm}
        return {role: usage for role, usage in roles.items() if usage is not None}

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """``{"task_lm": {...}, "prompt_lm": {...}[, "teacher_lm": {...}], "stages": {...}}`` as
        plain JSON."""
        return {**{role: usage.as_dict() for role, usage in self.roles().items()},
                "stages": {stage: {**asdict(usage), "seconds": round(usage.seconds, 3),
                                   "wall_seconds": round(usage.wall_seconds, 3)}
                           for stage, usage in self.stages.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]]) -> RunUsage:
        """The inverse of ``as_dict``."""
        snapshots = {role: UsageSnapshot(**values) for role, values in data.items()
                     if role != "stages"}
        stages = {stage: StageUsage(**values) for stage, values in data.get("stages", {}).items()}
        return cls(**snapshots, stages=stages)


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
class SelectionExamples:
    """The examples selection compares on: held-out validation examples and training examples
    no LM was shown during the run."""

    holdout_ids: tuple[int, ...]
    train_ids: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        return len(self.holdout_ids) + len(self.train_ids)

    def describe(self) -> str:
        """E.g. "30 held-out validation and 40 unseen training examples"."""
        if not self.train_ids:
            return f"{len(self.holdout_ids)} held-out examples"
        return (f"{len(self.holdout_ids)} held-out validation and {len(self.train_ids)} unseen "
                "training examples")


@dataclass(frozen=True, kw_only=True)
class Selection:
    """How the final program was chosen, and why (``select.py``, docs/selection.md)."""

    holdout_ids: tuple[int, ...]
    """The validation examples (indices into the valset) that no minibatch and no search-time
    full evaluation used: the candidates are compared, and the winner scored, on these and on
    ``train_ids``."""
    train_ids: tuple[int, ...] = ()
    """The training examples (indices into the trainset) that no LM was shown during the run
    (not run while bootstrapping, in no demo set, not summarized), scored after the held-out
    validation examples."""
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
    def examples(self) -> SelectionExamples:
        """The examples compared on (``holdout_ids`` and ``train_ids``)."""
        return SelectionExamples(holdout_ids=self.holdout_ids, train_ids=self.train_ids)

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
                "train_ids": list(self.train_ids), "score_interval": list(self.score_interval)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Selection:
        """The inverse of ``as_dict``."""
        return cls(**{**data, "holdout_ids": tuple(data["holdout_ids"]),
                      "train_ids": tuple(data.get("train_ids", ())),
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
