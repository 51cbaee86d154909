"""``Optimizer``: the stages every optimizer of the family runs, in order, for its ``Plan``.

    split data -> bootstrap demo sets -> ground -> propose -> search -> select

One file per stage: ``split.py``, ``bootstrap.py``, ``ground.py``, ``propose.py``,
``search.py`` (with the credit-assignment strategies in ``credit/``) and ``select.py``. What a
run keeps and spends (its study, candidates, records, LM-call budget) is in ``run/``.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mipro.errors import BudgetExhausted, ConfigurationError, LMError, RunInterruptedError
from mipro.evaluate import Metric
from mipro.lm.base import LM
from mipro.lm.context import active_lm
from mipro.optimize.bootstrap import (
    Bootstrapped,
    BootstrapRequest,
    bootstrap_budget,
    bootstrap_demo_sets,
)
from mipro.optimize.ground import ground, summarized_examples
from mipro.optimize.plan import Plan
from mipro.optimize.propose import ProposalTally, propose_candidates
from mipro.optimize.run.budget import BudgetedLM
from mipro.optimize.run.callbacks import Callback, FullEvaluationEnd, TrialEnd
from mipro.optimize.run.candidates import (
    Candidates,
    DemoSet,
    build_program,
    describe_configuration,
    fixed_instructions,
    instruction_param,
)
from mipro.optimize.run.fingerprint import (
    describe_data,
    describe_lm,
    describe_metric,
    describe_program,
    digest,
)
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.presets import Counts, resolve_counts
from mipro.optimize.run.stage_usage import metered
from mipro.optimize.run.records import (
    FullEvaluation,
    OptimizationResult,
    RunUsage,
    TrialRecord,
    result_summary,
)
from mipro.optimize.run.storage import HEARTBEAT_INTERVAL
from mipro.optimize.run.study import RunStudy
from mipro.optimize.search import Search, SearchSchedule
from mipro.optimize.select import (
    SelectionSettings,
    best_full_evaluation,
    describe_selection,
    label_strata,
    result_of,
    select,
    selection_train_ids,
    split_holdout,
)
from mipro.optimize.split import split_data
from mipro.program import Example, Module
from mipro.progress import console, progress_bar


@dataclass(frozen=True, kw_only=True)
class Run:
    """One ``compile`` call, resolved: the data, the budgeted LMs, the study and the counts."""

    program: Module
    """A copy of the program whose predictors call the budgeted task LM."""
    trainset: list[Example]
    valset: list[Example]
    search_ids: tuple[int, ...]
    """The validation examples the search uses."""
    holdout_ids: tuple[int, ...]
    """The validation examples held out from the search, on which selection chooses."""
    task_lm: BudgetedLM
    prompt_lm: BudgetedLM
    teacher_lm: BudgetedLM | None
    study: RunStudy
    num_candidates: int
    schedule: SearchSchedule

    @property
    def lms(self) -> tuple[BudgetedLM | None, ...]:
        return (self.task_lm, self.prompt_lm, self.teacher_lm)


class Optimizer:
    """Optimizes a program's instructions and/or demos for the whole program's ``metric``,
    following ``plan`` (the family members in ``family/`` each make one).

    ``auto`` ("light", "medium", "heavy") picks candidate and trial counts from the program's
    size; explicit ``num_candidates`` / ``num_trials`` override it. Full evaluations score
    every validation example, unless ``max_valset`` caps them (a seeded sample). TPE samples
    the first ``n_startup_trials`` trials at random (default: a fifth of the trials, 2 to 10,
    so a light run is mostly model-guided). ``max_lm_calls`` is a hard cap on real LM calls of every kind
    (cache hits are free), so optimizers can be compared at equal budget; ``result.usage``
    reports task-LM and prompt-LM calls and tokens apart. The run is an Optuna study in
    ``storage`` (default ``./mipro_runs/<run_name>.db``): running again with the same
    ``run_name`` resumes it, and is refused when anything that changes the result differs
    (metric, program, LMs, data, settings: the run's fingerprint). ``fresh=True`` deletes the
    stored run and starts over. Any int ``seed`` works.

    Selection: ``holdout_fraction`` of the validation set is held out from the search; the
    program as given and the search's best configuration (``selection_configurations``: more)
    are scored on it, topped up to ``selection_examples`` examples with training examples no
    LM was shown during the run, and the program as given is kept unless the configuration
    beats it with ``selection_confidence`` (docs/selection.md). ``result.best_score`` is the
    chosen program's score on those examples, and ``result.selection`` says what was chosen
    and why.

    Failures are never scores of the configuration being tried, except the prompt's own: a
    reply that does not parse scores 0 and is counted per predictor. The program's code may
    raise on up to ``max_errors`` examples of one evaluation (never on all; those score 0),
    else the run stops with an ``EvaluationError``; a metric that raises or returns no finite
    number stops it with a ``MetricError``; an LM that fails after its retries stops it with a
    ``RunInterruptedError``, and running again resumes.

    ``callbacks`` (``Callback`` objects) are called when each trial ends and after each full
    evaluation, with typed records (``run/callbacks.py``); ``mipro.load_run`` reads a run back.

    Scale: ``n_jobs`` trials run at once in threads (worth it when the task LM serves requests
    in parallel: a server, or ``LocalLM`` with ``slots`` > 1); TPE counts the trials in flight
    as bad ones so they try different configurations. Other processes, on any machine that
    reaches ``storage``, may run the same run at the same time (``mipro worker``): candidates
    are built once, full evaluations are not repeated, the budget is shared. Running trials
    beat a heartbeat every ``heartbeat_interval`` seconds; the trial of a worker silent for
    three intervals is failed and its configuration tried again (docs/scale.md).

    ``prune`` (MIPRO's and Bayesian bootstrap's TPE search): a trial's minibatch is scored in
    chunks and stops early when the best trial so far beats it with 90% confidence on the
    examples both scored; such a trial is told to TPE as pruned and never fully evaluated.
    """

    def __init__(
        self,
        metric: Metric,
        *,
        plan: Plan,
        task_lm: LM | None = None,
        prompt_lm: LM | None = None,
        teacher_lm: LM | None = None,
        auto: str | None = "light",
        num_candidates: int | None = None,
        num_trials: int | None = None,
        minibatch_size: int = 35,
        full_eval_every: int = 5,
        n_startup_trials: int | None = None,
        max_bootstrapped_demos: int = 4,
        max_labeled_demos: int = 4,
        metric_threshold: float = 1.0,
        seed: int = 0,
        holdout_fraction: float = 0.5,
        selection_configurations: int = 1,
        selection_confidence: float = 0.84,
        selection_examples: int = 100,
        max_lm_calls: int | None = None,
        max_valset: int | None = None,
        run_name: str | None = None,
        storage: str | None = None,
        num_threads: int = 1,
        n_jobs: int = 1,
        prune: bool = True,
        heartbeat_interval: int = HEARTBEAT_INTERVAL,
        max_errors: int | None = 10,
        verbose: bool = True,
        callbacks: Sequence[Callback] = (),
        fresh: bool = False,
    ) -> None:
        if not callable(metric):
            raise ConfigurationError(f"metric must be callable(example, prediction), got {metric!r}")
        _check_int("seed", seed)
        for name, value, least in (("minibatch_size", minibatch_size, 1),
                                   ("full_eval_every", full_eval_every, 1),
                                   ("num_threads", num_threads, 1),
                                   ("n_jobs", n_jobs, 1),
                                   ("heartbeat_interval", heartbeat_interval, 1),
                                   ("max_bootstrapped_demos", max_bootstrapped_demos, 0),
                                   ("selection_examples", selection_examples, 0),
                                   ("max_labeled_demos", max_labeled_demos, 0)):
            _check_int(name, value, least=least)
        for name, optional, least in (("num_candidates", num_candidates, 1),
                                      ("num_trials", num_trials, 1),
                                      ("max_lm_calls", max_lm_calls, 1),
                                      ("max_errors", max_errors, 0),
                                      ("n_startup_trials", n_startup_trials, 0),
                                      ("max_valset", max_valset, 1)):
            if optional is not None:
                _check_int(name, optional, least=least, or_none=True)
        if (isinstance(metric_threshold, bool) or not isinstance(metric_threshold, (int, float))
                or math.isnan(metric_threshold)):
            raise ConfigurationError(
                f"metric_threshold must be a number (a trace passes when its metric score is "
                f">= it), got {metric_threshold!r}")
        resolve_counts(auto, 1, num_candidates, num_trials)  # fail early on a bad preset
        self.selection = SelectionSettings(holdout_fraction=holdout_fraction,
                                           configurations=selection_configurations,
                                           confidence=selection_confidence,
                                           examples=selection_examples)
        self.metric, self.plan = metric, plan
        self.task_lm, self.prompt_lm, self.teacher_lm = task_lm, prompt_lm, teacher_lm
        self.auto, self.num_candidates, self.num_trials = auto, num_candidates, num_trials
        self.minibatch_size, self.full_eval_every = minibatch_size, full_eval_every
        self.n_startup_trials = n_startup_trials
        self.max_bootstrapped_demos, self.max_labeled_demos = max_bootstrapped_demos, max_labeled_demos
        self.metric_threshold, self.seed = metric_threshold, seed
        self.max_lm_calls, self.max_valset = max_lm_calls, max_valset
        self.run_name, self.storage = run_name, storage
        self.num_threads, self.max_errors, self.verbose = num_threads, max_errors, verbose
        self.n_jobs, self.heartbeat_interval = n_jobs, heartbeat_interval
        self.prune = prune and plan.search.prunable
        if n_jobs > 1 and not plan.search.parallel:
            raise ConfigurationError(
                f"n_jobs={n_jobs}: {type(self).__name__}'s search ({type(plan.search).__name__}) "
                "runs one trial at a time, each depending on the one before; use n_jobs=1")
        self.callbacks = list(callbacks)
        self.fresh = fresh
        self.result: OptimizationResult | None = None

    def compile(self, program: Module, trainset: Sequence[Example],
                valset: Sequence[Example] | None = None) -> Module:
        """The optimized copy of ``program``; details of the run are in ``self.result``."""
        counts = resolve_counts(self.auto, len(program.named_predictors()),
                                self.num_candidates, self.num_trials)
        trainset, valset, note = split_data(program, trainset, valset, seed=self.seed,
                                            max_valset=self.max_valset)
        if note:
            self._say(note)
        run = self._open_run(program, trainset, valset, counts)
        try:
            candidates, groundings, built = run.study.candidates(
                lambda: self._build_candidates(run),
                on_wait=lambda holder: self._say(f"Waiting for {holder}, which builds the "
                                                 "candidates of this run."))
        except BudgetExhausted:
            self._say("The LM-call budget ran out before the search; returning the program as given.")
            self.result = _empty_result(run)
            return program.deepcopy()
        train_ids = selection_train_ids(built.get("unseen_train", ()), self.selection,
                                        len(run.holdout_ids), self.seed)
        with self._stop_on_lm_failure(run, "during the search"), metered(run.study, "search", run.lms):
            search = self._search(run, candidates, groundings)
        with self._stop_on_lm_failure(run, "while scoring on the held-out examples"):
            tally = ProposalTally(rejected=built.get("rejected", {}), skipped=built.get("skipped", 0))
            return self._select(program, run, search, tally, train_ids)

    def run_settings(self) -> dict[str, Any]:
        """The options that shape the run (not where, or with how many threads, this process
        runs it), as JSON; stored in the run, so that ``mipro worker`` can join it
        (``optimize/join.py``)."""
        return {
            "auto": self.auto, "num_candidates": self.num_candidates, "num_trials": self.num_trials,
            "minibatch_size": self.minibatch_size, "full_eval_every": self.full_eval_every,
            "n_startup_trials": self.n_startup_trials,
            "max_bootstrapped_demos": self.max_bootstrapped_demos,
            "max_labeled_demos": self.max_labeled_demos, "metric_threshold": self.metric_threshold,
            "seed": self.seed, "holdout_fraction": self.selection.holdout_fraction,
            "selection_configurations": self.selection.configurations,
            "selection_confidence": self.selection.confidence,
            "selection_examples": self.selection.examples, "max_lm_calls": self.max_lm_calls,
            "max_valset": self.max_valset, "max_errors": self.max_errors, "prune": self.prune,
        }

    def _build_candidates(self, run: Run) -> tuple[Candidates, dict[str, Grounding], dict[str, Any]]:
        """Stages 1 to 3, run by one process of the run (a resumed run reads their result),
        with notes: what became of the proposals (a ``ProposalTally`` as JSON) and the training
        examples no LM was shown (``unseen_train``), on which selection may confirm its choice."""
        with (self._stop_on_lm_failure(run, "while bootstrapping demo sets"),
              metered(run.study, "bootstrap", run.lms)):
            bootstrapped = self._bootstrap(run)
        with (self._stop_on_lm_failure(run, "while summarizing the data and program"),
              metered(run.study, "ground", run.lms)):
            groundings = self._ground(run, bootstrapped.demo_sets)
        with (self._stop_on_lm_failure(run, "while proposing instructions"),
              metered(run.study, "propose", run.lms)):
            candidates, tally = self._propose(run, bootstrapped.demo_sets, groundings)
        shown = set(bootstrapped.shown)
        if self.plan.grounding.dataset_summary:
            shown.update(summarized_examples(len(run.trainset), seed=self.seed))
        unseen = [i for i in range(len(run.trainset)) if i not in shown]
        return candidates, groundings, {**asdict(tally), "unseen_train": unseen}

    # The stages ---------------------------------------------------------------------------
    def _bootstrap(self, run: Run) -> Bootstrapped:
        """Stage 1: demo-set candidates per predictor (``bootstrap.py``)."""
        return bootstrap_demo_sets(
            run.program, run.trainset, self.metric, self._bootstrap_request(run.num_candidates),
            seed=self.seed, teacher_lm=run.teacher_lm, num_threads=self.num_threads,
            max_errors=self.max_errors, display_progress=self.verbose,
        )

    def _ground(self, run: Run, demo_sets: Mapping[str, Sequence[DemoSet]]) -> dict[str, Grounding]:
        """Stage 2: what each predictor's proposer may be shown (``ground.py``)."""
        return ground(run.prompt_lm, run.program, run.trainset, demo_sets, self.plan.grounding,
                      seed=self.seed)

    def _propose(self, run: Run, demo_sets: Mapping[str, Sequence[DemoSet]],
                 groundings: Mapping[str, Grounding]) -> tuple[Candidates, ProposalTally]:
        """Stage 3: the candidates the search starts from, and what became of the proposals
        (``propose.py``)."""
        if not self.plan.demo_sets.in_program:
            demo_sets = {name: sets[:1] for name, sets in demo_sets.items()}
        if self.plan.proposals is None:
            return fixed_instructions(run.program, demo_sets), ProposalTally(rejected={}, skipped=0)
        return propose_candidates(
            run.prompt_lm, run.program, demo_sets, groundings, self.plan.grounding,
            self.plan.proposals, run.num_candidates, seed=self.seed, display_progress=self.verbose,
        )

    def _search(self, run: Run, candidates: Candidates,
                groundings: Mapping[str, Grounding]) -> Search:
        """Stage 4: trials until the schedule, the strategy or the budget ends (``search.py``)."""
        search = Search(strategy=self.plan.search, program=run.program, candidates=candidates,
                        groundings=groundings, valset=run.valset, search_ids=run.search_ids,
                        trainset=run.trainset,
                        metric=self.metric, study=run.study, schedule=run.schedule, seed=self.seed,
                        prompt_lm=run.prompt_lm, num_threads=self.num_threads,
                        n_jobs=self.n_jobs, prune=self.prune, max_errors=self.max_errors, display_progress=self.verbose,
                        budget=run.task_lm.budget, reserved_calls=self._reserved_calls(run))
        num_trials = run.schedule.num_trials
        with progress_bar(f"{type(self).__name__} trials", num_trials, enabled=self.verbose) as bar:
            bar.advance(steps=run.study.count_finished_trials())

            def on_trial(record: TrialRecord, full: FullEvaluation | None) -> None:
                best = best_full_evaluation(run.study.full_evaluations()).score
                note = f"  full eval {full.score:.3f}" if full else ""
                bar.advance(f"best full {best:.3f}")
                pruned = f" pruned after {len(record.minibatch_ids)}" if record.pruned else ""
                if self.verbose:
                    bar.log(f"Trial {record.number + 1:>3}/{num_trials}  "
                            f"{describe_configuration(record.configuration)}  "
                            f"minibatch {record.minibatch_score:.3f}{pruned}  best full "
                            f"{best:.3f}{note}")
                event = TrialEnd(run_name=run.study.study.study_name, trial=record,
                                 num_trials=num_trials, best_full_score=best,
                                 instructions=_instructions(search.candidates, record.configuration))
                for callback in self.callbacks:
                    callback.on_trial_end(event)

            def on_full_evaluation(record: FullEvaluation) -> None:
                best = best_full_evaluation(run.study.full_evaluations())
                event = FullEvaluationEnd(
                    run_name=run.study.study.study_name, evaluation=record,
                    is_best=best.configuration == record.configuration,
                    instructions=_instructions(search.candidates, record.configuration))
                for callback in self.callbacks:
                    callback.on_full_evaluation(event)

            search.on_trial = on_trial
            search.on_full_evaluation = on_full_evaluation
            search.run()
        return search

    def _select(self, program: Module, run: Run, search: Search, tally: ProposalTally,
                train_ids: Sequence[int]) -> Module:
        """Stage 5: the program as given, or the search's best configuration when it beats it
        with confidence on the held-out examples (and ``train_ids``, training examples no LM
        was shown), built (``select.py``)."""
        with metered(run.study, "select", run.lms):
            selection = select(search, self.selection, run.holdout_ids, train_ids)
        result = result_of(search, selection, usage=_usage(run), skipped_proposals=tally.skipped,
                           rejected_proposals=tally.rejected)
        self.result = result or _empty_result(run)
        if result is None:
            return program.deepcopy()
        run.study.mark_winner(result.best_configuration, result.best_score,
                              result_summary(result, search.program_failures))
        if result.stopped_by_budget:
            self._say("The LM-call budget is spent: choosing among the configurations scored so far.")
        if result.selection is not None:
            for line in describe_selection(result.selection):
                self._say(line)
        self._say(f"{run.task_lm.usage.calls} task-LM and {run.prompt_lm.usage.calls} prompt-LM calls.")
        self._say_failures(run, search)
        return build_program(program, search.candidates, result.best_configuration)

    def _say_failures(self, run: Run, search: Search) -> None:
        """Report the examples that scored 0 without being judged: replies that did not parse
        (the prompt's failure, per predictor) and the program's code raising."""
        parse_failures: Counter[str] = Counter()
        for lm in (run.task_lm, run.teacher_lm):
            if lm is not None:
                parse_failures.update(lm.usage.snapshot().parse_failures)
        if parse_failures:
            per_predictor = ", ".join(f"{name} {count}" for name, count in sorted(parse_failures.items()))
            self._say(f"Replies that did not parse, each scored 0: {per_predictor}.")
        if search.program_failures:
            self._say(f"The program raised on {search.program_failures} examples during the "
                      "search, each scored 0 (see max_errors).")

    def _selection_calls(self, run: Run) -> int:
        """About how many task-LM calls selection needs."""
        runs = self.selection.reserved_program_runs(len(run.valset))
        return runs * len(run.program.named_predictors())

    def _reserved_calls(self, run: Run) -> int:
        """The calls a search leaves in the budget: selection's, and room for the trials in
        flight (their proposals, their minibatches), a scheduled full evaluation and the final one."""
        predictors = len(run.program.named_predictors())
        program_runs = (self.n_jobs * min(self.minibatch_size, len(run.search_ids))
                        + 2 * len(run.search_ids))
        proposals = self.plan.search.planned_proposals(self.n_jobs, predictors)
        return self._selection_calls(run) + program_runs * predictors + proposals

    # The run ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _stop_on_lm_failure(self, run: Run, stage: str) -> Iterator[None]:
        """An LM failure (unreachable, timed out, a malformed reply, ...) is never a score: the
        run stops with a ``RunInterruptedError`` that says what it was doing and how to resume."""
        try:
            yield
        except LMError as error:
            finished = len(run.study.completed_trials())
            then = "run again" if error.retryable else "fix that, then run again"
            raise RunInterruptedError(
                f"the LM failed {stage}: {error}\nNothing unfinished was scored. Run "
                f"{run.study.study.study_name!r} keeps its {finished} finished trials in "
                f"{run.study.url}: {then} with the same run_name to resume.", cause=error,
            ) from error

    def _open_run(self, program: Module, trainset: list[Example], valset: list[Example],
                  counts: Counts) -> Run:
        """Hold out the selection examples, open (or resume) the run's study, and wrap every
        LM in the run's budget."""
        search_ids, holdout_ids = split_holdout(len(valset), self.selection, self.seed,
                                                strata=label_strata(valset))
        task_lm = self.task_lm or _lm_of(program) or active_lm()
        lms = {"task_lm": task_lm, "prompt_lm": self.prompt_lm or task_lm,
               "teacher_lm": self.teacher_lm}
        fingerprint = self._fingerprint(program, trainset, valset, lms, counts.num_candidates)
        study = RunStudy.open(self.run_name or _default_run_name(program, fingerprint),
                              self.storage, fingerprint, fresh=self.fresh,
                              heartbeat_interval=self.heartbeat_interval)
        study.keep_settings({"optimizer": type(self).__name__, "plan": self.plan.fingerprint(),
                             "options": self.run_settings()})
        budget = study.call_budget(self.max_lm_calls)
        task = BudgetedLM(task_lm, budget)
        working = program.deepcopy()
        for predictor in working.predictors():  # the program's calls are the task LM's usage
            predictor.lm = BudgetedLM(predictor.lm, budget, usage=task.usage) if predictor.lm else task
        num_trials = self.plan.search.num_trials(counts.num_candidates, counts.num_trials)
        run = Run(program=working, trainset=trainset, valset=valset, search_ids=search_ids,
                  holdout_ids=holdout_ids, task_lm=task,
                  prompt_lm=BudgetedLM(self.prompt_lm or task_lm, budget),
                  teacher_lm=BudgetedLM(self.teacher_lm, budget) if self.teacher_lm else None,
                  study=study, num_candidates=counts.num_candidates,
                  schedule=SearchSchedule(num_trials=num_trials, minibatch_size=self.minibatch_size,
                                          full_eval_every=self.full_eval_every,
                                          n_startup_trials=self.n_startup_trials))
        self._say(f"{type(self).__name__} run {study.study.study_name!r} in {study.url}")
        self._say(f"See it live: optuna-dashboard {study.url}")
        self._say_planned_calls(run)
        return run

    def _bootstrap_request(self, num_candidates: int) -> BootstrapRequest:
        demo_sets = self.plan.demo_sets
        return BootstrapRequest(
            num_sets=num_candidates, metric_threshold=self.metric_threshold,
            max_bootstrapped_demos=self.max_bootstrapped_demos if demo_sets.bootstrapped else 0,
            max_labeled_demos=self.max_labeled_demos if demo_sets.labeled else 0,
        )

    def _fingerprint(self, program: Module, trainset: Sequence[Example], valset: Sequence[Example],
                     lms: Mapping[str, LM | None], num_candidates: int) -> dict[str, Any]:
        """What identifies a run, i.e. everything that changes its result: a resumed run must
        match it. (``num_trials`` and ``max_lm_calls`` may change: they extend a run.)"""
        request = self._bootstrap_request(num_candidates)
        return {
            "optimizer": type(self).__name__, "plan": self.plan.fingerprint(),
            "seed": self.seed, "num_candidates": num_candidates,
            "minibatch_size": self.minibatch_size, "full_eval_every": self.full_eval_every,
            "n_startup_trials": self.n_startup_trials, "selection": asdict(self.selection),
            "prune": self.prune,
            "max_bootstrapped_demos": request.max_bootstrapped_demos,
            "max_labeled_demos": request.max_labeled_demos,
            "metric_threshold": self.metric_threshold,
            "metric": describe_metric(self.metric),
            "program": describe_program(program),
            "lms": {**{role: describe_lm(lm) for role, lm in lms.items()},
                    "predictors": {name: describe_lm(predictor.lm)
                                   for name, predictor in program.named_predictors()}},
            "data": {"trainset": describe_data(trainset), "valset": describe_data(valset)},
        }

    def _say_planned_calls(self, run: Run) -> None:
        """Print what the run plans to spend, stage by stage, before any LM call."""
        predictors = len(run.program.named_predictors())
        runs = bootstrap_budget(self._bootstrap_request(run.num_candidates), len(run.trainset))
        strategy, grounding, proposals = self.plan.search, self.plan.grounding, self.plan.proposals
        bootstrap = runs * predictors
        searched = len(run.search_ids)
        search = strategy.planned_program_runs(run.schedule, searched) * predictors
        selection = self._selection_calls(run)
        topup = (self.selection.train_examples(len(run.holdout_ids), len(run.trainset))
                 * (self.selection.configurations + 1) * predictors)
        upfront = predictors * (run.num_candidates - 1) if proposals else 0
        prompt = (4 * grounding.dataset_summary + (1 + predictors) * grounding.program_summary
                  + upfront + strategy.planned_proposals(run.schedule.num_trials, predictors))
        reasks = 2 * upfront if proposals and proposals.form == "auto" else 0
        capped = f", capped by max_valset={self.max_valset}" if self.max_valset else ""
        self._say(
            f"Planned LM calls (before cache hits): about {bootstrap + search + selection + topup} task-LM "
            f"(at most {bootstrap} bootstrapping on up to {runs} training examples, stopping once "
            f"every demo set can be filled; {search} search: {run.schedule.num_trials} trials on "
            f"minibatches of {min(run.schedule.minibatch_size, searched)}, full evaluations "
            f"on all {searched} validation examples not held out (of {len(run.valset)}{capped}), "
            f"no example scored twice for one configuration; {selection} selection on the "
            f"{len(run.holdout_ids)} held-out ones, and up to "
            f"{topup} more on training examples no LM was shown, as many as the budget allows) and about "
            f"{prompt} prompt-LM"
            + (f" (up to {reasks} more if rejected proposals are asked again)" if reasks else "")
            + (f"; hard cap {self.max_lm_calls}" if self.max_lm_calls else ""))

    def _say(self, message: str) -> None:
        if self.verbose:
            console.print(message, highlight=False)


def _lm_of(program: Module) -> LM | None:
    return next((p.lm for p in program.predictors() if p.lm is not None), None)


def _check_int(name: str, value: Any, *, least: int | None = None, or_none: bool = False) -> None:
    """Refuse a setting that is not an int (``least`` or more) before any LM call."""
    alternative = " or None" if or_none else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an int{alternative}, got {value!r}")
    if least is not None and value < least:
        raise ConfigurationError(f"{name} must be >= {least}{alternative}, got {value}")


def _default_run_name(program: Module, fingerprint: dict[str, Any]) -> str:
    return f"{type(program).__name__.lower()}-{digest(fingerprint)[:10]}"


def _usage(run: Run) -> RunUsage:
    return RunUsage(task_lm=run.task_lm.usage.snapshot(), prompt_lm=run.prompt_lm.usage.snapshot(),
                    teacher_lm=run.teacher_lm.usage.snapshot() if run.teacher_lm else None,
                    stages=run.study.stage_usage())


def _instructions(candidates: Candidates, configuration: Mapping[str, int]) -> dict[str, str]:
    return {name: options.instructions[configuration.get(instruction_param(name), 0)]
            for name, options in candidates.predictors.items()}


def _empty_result(run: Run) -> OptimizationResult:
    return OptimizationResult(best_configuration={}, best_score=float("nan"),
                              baseline_score=float("nan"), trials=(), full_evaluations=(),
                              usage=_usage(run), stopped_by_budget=True)
