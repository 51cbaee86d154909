"""The pipeline every optimizer shares, and the ``Optimizer`` base whose hooks say what differs.

``compile`` resolves the LMs and the call budget, splits the data, opens the run's study,
builds the candidates (bootstrapped demo sets, the proposers' grounding, any upfront
proposals), runs a search, and finishes with an ``OptimizationResult``. An optimizer of the
family overrides only the hooks: which demo sets it bootstraps, what its proposers may see,
how it builds candidates and which search assigns credit across modules.
"""

from __future__ import annotations

import hashlib
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mipro.errors import BudgetExhausted, ConfigurationError
from mipro.evaluate import Metric
from mipro.lm.base import LM
from mipro.lm.context import active_lm
from mipro.optimize.bootstrap import BootstrapSettings, bootstrap_demo_sets, bootstrap_pool_size
from mipro.optimize.budget import BudgetedLM, CallBudget
from mipro.optimize.greedy import GreedySearch
from mipro.optimize.presets import resolve_counts
from mipro.optimize.propose import ProposalSettings, build_groundings
from mipro.optimize.records import (
    Candidates,
    DemoSet,
    FullEvaluation,
    Grounding,
    OptimizationResult,
    PredictorCandidates,
    TrialRecord,
    describe_configuration,
)
from mipro.optimize.search import (
    BayesianSearch,
    Search,
    SearchSettings,
    best_full_evaluation,
    build_program,
)
from mipro.optimize.study import RunStudy
from mipro.program import Example, Module
from mipro.progress import console, progress_bar

S = TypeVar("S", bound=Search)

CREDIT_ASSIGNMENTS: dict[str, type[Search]] = {"bayesian": BayesianSearch, "greedy": GreedySearch}
"""Searches over fixed candidates: a TPE surrogate (MIPRO's), or coordinate ascent."""

NO_GROUNDING = ProposalSettings(dataset_summary=False, program_summary=False, demos=False)


def check_credit_assignment(value: str) -> str:
    if value not in CREDIT_ASSIGNMENTS:
        raise ConfigurationError(
            f"credit_assignment must be one of {sorted(CREDIT_ASSIGNMENTS)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Run:
    """One ``compile`` call, resolved: what an optimizer's hooks work with."""

    program: Module
    """A copy of the program whose predictors call the budgeted task LM."""
    trainset: list[Example]
    valset: list[Example]
    task_lm: BudgetedLM
    prompt_lm: BudgetedLM
    teacher_lm: BudgetedLM | None
    budget: CallBudget
    study: RunStudy
    num_candidates: int
    num_trials: int


class Optimizer(ABC):
    """Optimizes a program's instructions and/or demos for the whole program's ``metric``.

    ``auto`` ("light", "medium", "heavy") picks candidate and trial counts from the program's
    size; explicit ``num_candidates`` / ``num_trials`` override it. ``max_lm_calls`` is a hard
    cap on real LM calls of every kind (cache hits are free), so optimizers can be compared at
    equal budget; ``result.usage`` reports task-LM and prompt-LM calls and tokens apart. The
    run is an Optuna study in ``storage`` (default ``./mipro_runs/<run_name>.db``): running
    again with the same ``run_name`` resumes it.
    """

    def __init__(
        self,
        metric: Metric,
        *,
        task_lm: LM | None = None,
        prompt_lm: LM | None = None,
        teacher_lm: LM | None = None,
        auto: str | None = "light",
        num_candidates: int | None = None,
        num_trials: int | None = None,
        minibatch_size: int = 35,
        full_eval_every: int = 5,
        max_bootstrapped_demos: int = 4,
        max_labeled_demos: int = 4,
        metric_threshold: float = 1.0,
        seed: int = 0,
        max_lm_calls: int | None = None,
        run_name: str | None = None,
        storage: str | None = None,
        num_threads: int = 1,
        verbose: bool = True,
    ) -> None:
        if not callable(metric):
            raise ConfigurationError(f"metric must be callable(example, prediction), got {metric!r}")
        for name, value, least in (("minibatch_size", minibatch_size, 1),
                                   ("full_eval_every", full_eval_every, 1),
                                   ("num_threads", num_threads, 1),
                                   ("max_bootstrapped_demos", max_bootstrapped_demos, 0),
                                   ("max_labeled_demos", max_labeled_demos, 0)):
            if value < least:
                raise ConfigurationError(f"{name} must be >= {least}, got {value}")
        if max_lm_calls is not None and max_lm_calls < 1:
            raise ConfigurationError(f"max_lm_calls must be >= 1 or None, got {max_lm_calls}")
        resolve_counts(auto, 1, num_candidates, num_trials)  # fail early on a bad preset
        self.metric = metric
        self.task_lm, self.prompt_lm, self.teacher_lm = task_lm, prompt_lm, teacher_lm
        self.auto, self.num_candidates, self.num_trials = auto, num_candidates, num_trials
        self.minibatch_size, self.full_eval_every = minibatch_size, full_eval_every
        self.max_bootstrapped_demos, self.max_labeled_demos = max_bootstrapped_demos, max_labeled_demos
        self.metric_threshold, self.seed = metric_threshold, seed
        self.max_lm_calls, self.run_name, self.storage = max_lm_calls, run_name, storage
        self.num_threads, self.verbose = num_threads, verbose
        self.result: OptimizationResult | None = None

    # The hooks ----------------------------------------------------------------------------
    def _bootstrap_settings(self, num_candidates: int) -> BootstrapSettings:
        """Which demo sets to bootstrap (also used only to ground proposals, by some)."""
        return BootstrapSettings(num_candidates, self.max_bootstrapped_demos, self.max_labeled_demos,
                                 self.metric_threshold, num_threads=self.num_threads)

    def _grounding_sources(self) -> ProposalSettings:
        """Which summaries and demos the proposers may be shown (none: no proposals)."""
        return NO_GROUNDING

    def _make_candidates(self, run: Run, demo_sets: Mapping[str, list[DemoSet]],
                         groundings: Mapping[str, Grounding]) -> tuple[Candidates, int]:
        """The candidates the search starts from, and how many proposals were skipped."""
        return fixed_instructions(run.program, demo_sets), 0

    @abstractmethod
    def _make_search(self, run: Run, candidates: Candidates,
                     groundings: Mapping[str, Grounding]) -> Search:
        """The search that chooses configurations and assigns them credit."""

    def _settings(self) -> dict[str, Any]:
        """What else identifies a run of this optimizer (a resumed run must match it)."""
        return {}

    def _extras(self, search: Search) -> dict[str, Any]:
        """Optimizer-specific findings for ``OptimizationResult.extras``."""
        return {}

    def _trial_count(self, num_candidates: int, num_trials: int) -> int:
        return num_trials

    def _planned_proposals(self, run: Run) -> int:
        return 0

    def _planned_search_calls(self, run: Run) -> int:
        """Program runs of the search: its minibatches and the scheduled full evaluations."""
        full_evaluations = 2 + run.num_trials // self.full_eval_every
        return run.num_trials * min(self.minibatch_size, len(run.valset)) + full_evaluations * len(run.valset)

    # The pipeline -------------------------------------------------------------------------
    def compile(self, program: Module, trainset: Sequence[Example],
                valset: Sequence[Example] | None = None) -> Module:
        """The optimized copy of ``program``; details of the run are in ``self.result``."""
        run = self._start(program, trainset, valset)
        try:
            candidates, groundings, skipped = self._prepare(run)
        except BudgetExhausted:
            self._say("The LM-call budget ran out before the search; returning the program as given.")
            self.result = _empty_result(run)
            return program.deepcopy()
        search = self._make_search(run, candidates, groundings)
        self._run_search(search, run.num_trials)
        return self._finish(program, run, search, skipped)

    def _start(self, program: Module, trainset: Sequence[Example],
               valset: Sequence[Example] | None) -> Run:
        num_candidates, num_trials, max_valset = resolve_counts(
            self.auto, len(program.named_predictors()), self.num_candidates, self.num_trials)
        train, val = _split(trainset, valset, self.seed, max_valset)
        task_lm = self.task_lm or _lm_of(program) or active_lm()
        budget = CallBudget(self.max_lm_calls)
        task = BudgetedLM(task_lm, budget)
        working = program.deepcopy()
        for predictor in working.predictors():
            predictor.lm = BudgetedLM(predictor.lm, budget) if predictor.lm else task
        settings = self._fingerprint(program, train, val, task_lm, num_candidates)
        study = RunStudy(self.run_name or _default_run_name(program, settings), self.storage, settings)
        run = Run(working, train, val, task, BudgetedLM(self.prompt_lm or task_lm, budget),
                  BudgetedLM(self.teacher_lm, budget) if self.teacher_lm else None, budget, study,
                  num_candidates, self._trial_count(num_candidates, num_trials))
        self._say(f"{type(self).__name__} run {study.study.study_name!r} in {study.url}")
        self._say_plan(run)
        return run

    def _prepare(self, run: Run) -> tuple[Candidates, Mapping[str, Grounding], int]:
        """The run's candidates and grounding: from the study, else built (and then saved)."""
        candidates, groundings = run.study.load_candidates(), run.study.load_groundings()
        if candidates is not None and groundings is not None:
            return candidates, groundings, 0
        demo_sets = bootstrap_demo_sets(
            run.program, run.trainset, self.metric, self._bootstrap_settings(run.num_candidates),
            seed=self.seed, teacher_lm=run.teacher_lm, display_progress=self.verbose,
        )
        groundings = build_groundings(run.prompt_lm, run.program, run.trainset, demo_sets,
                                      self._grounding_sources(), seed=self.seed)
        candidates, skipped = self._make_candidates(run, demo_sets, groundings)
        run.study.save_groundings(groundings)
        run.study.save_candidates(candidates)
        return candidates, groundings, skipped

    def _new_search(self, search: type[S], run: Run, candidates: Candidates, **options: Any) -> S:
        """A ``search`` over ``candidates`` with this optimizer's settings."""
        settings = SearchSettings(run.num_trials, self.minibatch_size, self.full_eval_every, self.seed,
                                  num_threads=self.num_threads, display_progress=self.verbose)
        return search(run.program, candidates, run.valset, self.metric, run.study, settings,
                      run.budget, **options)

    def _run_search(self, search: Search, num_trials: int) -> None:
        done = len(search.study.completed_trials())
        with progress_bar(f"{type(self).__name__} trials", num_trials, enabled=self.verbose) as bar:
            bar.advance(steps=done)

            def on_trial(record: TrialRecord, full: FullEvaluation | None) -> None:
                best = best_full_evaluation(search.study.full_evaluations()).score
                note = f"  full eval {full.score:.3f}" if full else ""
                bar.advance(f"best full {best:.3f}")
                if self.verbose:
                    bar.log(f"Trial {record.number + 1:>3}/{num_trials}  "
                            f"{describe_configuration(record.configuration)}  "
                            f"minibatch {record.minibatch_score:.3f}  best full {best:.3f}{note}")

            search.on_trial = on_trial
            search.run()

    def _finish(self, program: Module, run: Run, search: Search, skipped: int) -> Module:
        evaluations = run.study.full_evaluations()
        if not evaluations:
            self.result = _empty_result(run)
            return program.deepcopy()
        best = best_full_evaluation(evaluations)
        baseline = next((e for e in evaluations if e.after_trial == -1), None)
        self.result = OptimizationResult(
            best_configuration=best.configuration, best_score=best.score,
            baseline_score=baseline.score if baseline else float("nan"),
            trials=tuple(run.study.completed_trials()), full_evaluations=tuple(evaluations),
            usage=_usage(run), candidates=search.candidates,
            stopped_by_budget=search.stopped_by_budget,
            skipped_proposals=skipped + search.skipped_proposals, extras=self._extras(search),
        )
        if search.stopped_by_budget:
            self._say("The LM-call budget is spent: returning the best program found so far.")
        self._say(f"Best full validation score {best.score:.3f} (unoptimized "
                  f"{self.result.baseline_score:.3f}); {run.task_lm.usage.calls} task-LM and "
                  f"{run.prompt_lm.usage.calls} prompt-LM calls.")
        return build_program(program, search.candidates, best.configuration)

    def _fingerprint(self, program: Module, trainset: Sequence[Example], valset: Sequence[Example],
                     task_lm: LM, num_candidates: int) -> dict[str, Any]:
        bootstrap = self._bootstrap_settings(num_candidates)
        return {
            "optimizer": type(self).__name__, "seed": self.seed, "num_candidates": num_candidates,
            "minibatch_size": self.minibatch_size,
            "max_bootstrapped_demos": bootstrap.max_bootstrapped_demos,
            "max_labeled_demos": bootstrap.max_labeled_demos, "task_lm": task_lm.model_id,
            "predictors": [name for name, _ in program.named_predictors()],
            "data": _data_hash(trainset, valset), **self._settings(),
        }

    def _say_plan(self, run: Run) -> None:
        predictors = len(run.program.named_predictors())
        pool = bootstrap_pool_size(self._bootstrap_settings(run.num_candidates), len(run.trainset))
        bootstrap, search = pool * predictors, self._planned_search_calls(run) * predictors
        sources = self._grounding_sources()
        prompt = (4 * sources.dataset_summary + (1 + predictors) * sources.program_summary
                  + self._planned_proposals(run))
        self._say(f"Planned LM calls (before cache hits): about {bootstrap + search} task-LM "
                  f"({bootstrap} bootstrapping, {search} search over {run.num_trials} trials with "
                  f"{len(run.valset)} validation examples) and about {prompt} prompt-LM"
                  + (f"; hard cap {self.max_lm_calls}" if self.max_lm_calls else ""))

    def _say(self, message: str) -> None:
        if self.verbose:
            console.print(message, highlight=False)


def fixed_instructions(program: Module, demo_sets: Mapping[str, Sequence[DemoSet]]) -> Candidates:
    """Candidates that keep every predictor's own instruction and choose among ``demo_sets``."""
    return Candidates({
        name: PredictorCandidates([predictor.signature.instructions], list(demo_sets[name]), [{}])
        for name, predictor in program.named_predictors()
    })


def _lm_of(program: Module) -> LM | None:
    return next((p.lm for p in program.predictors() if p.lm is not None), None)


def _split(trainset: Sequence[Example], valset: Sequence[Example] | None, seed: int,
           max_valset: int | None) -> tuple[list[Example], list[Example]]:
    """Check the data; without a valset, hold out part of the trainset (seeded)."""
    if not trainset:
        raise ConfigurationError("trainset is empty: the optimizer needs training examples")
    for label, examples in (("trainset", trainset), ("valset", valset or [])):
        for row, example in enumerate(examples):
            if not isinstance(example, Example) or not example.input_keys:
                raise ConfigurationError(
                    f"{label}[{row}] is not an Example with inputs marked; build rows as "
                    "Example(question=..., answer=...).with_inputs('question')"
                )
    train = list(trainset)
    if valset is None:
        shuffled = train[:]
        random.Random(seed).shuffle(shuffled)
        cut = max(1, len(shuffled) // 2)
        train, valset = shuffled[:cut], shuffled[cut:] or shuffled[:cut]
    val = list(valset)
    if max_valset is not None and len(val) > max_valset:
        val = random.Random(seed).sample(val, max_valset)
    return train, val


def _data_hash(trainset: Sequence[Example], valset: Sequence[Example]) -> str:
    payload = json.dumps([[dict(e) for e in trainset], [dict(e) for e in valset]], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _default_run_name(program: Module, settings: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return f"{type(program).__name__.lower()}-{digest}"


def _usage(run: Run) -> dict[str, dict[str, Any]]:
    usage = {"task_lm": run.task_lm.usage.snapshot().as_dict(),
             "prompt_lm": run.prompt_lm.usage.snapshot().as_dict()}
    if run.teacher_lm is not None:
        usage["teacher_lm"] = run.teacher_lm.usage.snapshot().as_dict()
    return usage


def _empty_result(run: Run) -> OptimizationResult:
    return OptimizationResult({}, float("nan"), float("nan"), (), (), _usage(run),
                              stopped_by_budget=True)
