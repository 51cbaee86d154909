"""Stage 4: the search. Trials score configurations on minibatches; the most promising ones
are scored on all the search's validation examples on a schedule. The examples held out for
selection (``select.py``) are never used here.

``Search`` is the loop every optimizer shares; a ``SearchStrategy`` (``credit/``) says how each
trial's configuration is chosen and how its score is credited. Minibatch scores are the
observations a strategy learns from. Full scores are a different kind of observation: they
are kept apart (study user attributes) and only rank the evaluated configurations that
selection re-scores on held-out examples (``select.py``).
"""

from __future__ import annotations

import contextvars
import hashlib
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Literal

import optuna

from mipro.errors import BudgetExhausted
from mipro.evaluate import Evaluate, Metric, error_budget
from mipro.lm.base import LM
from mipro.optimize.pruning import CHUNK, PairedPruner
from mipro.optimize.run.budget import CallBudget
from mipro.optimize.run.candidates import Candidates, Configuration, build_program, configuration_key
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.presets import startup_trials
from mipro.optimize.run.readable import trial_attributes
from mipro.optimize.run.records import FullEvaluation, ProposalModel, TrialRecord
from mipro.optimize.run.seeds import sub_seed
from mipro.optimize.run.study import RunStudy
from mipro.program import Example, Module

TrialListener = Callable[[TrialRecord, FullEvaluation | None], None]
FullEvaluationListener = Callable[[FullEvaluation], None]
Dataset = Literal["valset", "trainset"]
"""Which examples an evaluation's indices refer to."""

_WAIT = 0.5
"""Seconds between looks at the study while other workers run the run's last trials."""


@dataclass(frozen=True, kw_only=True)
class SearchSchedule:
    """How many trials a search runs, on how large minibatches, how often the most promising
    configuration is scored on all the search's validation examples, and how many trials a
    model-based strategy samples at random before its model guides it."""

    num_trials: int
    minibatch_size: int = 35
    full_eval_every: int = 5
    n_startup_trials: int | None = None
    """``None``: ``startup_trials(num_trials)``, a fifth of the trials (``run/presets.py``)."""

    def startup_trials(self) -> int:
        """Random trials before a model (TPE) guides the search."""
        if self.n_startup_trials is not None:
            return self.n_startup_trials
        return startup_trials(self.num_trials)


class SearchStrategy(ABC):
    """How a search chooses each trial's configuration and credits the score it gets.

    The contract: ``next_trial`` chooses a configuration, scores it (``search.score``),
    records it in ``search.study`` and returns the record, or returns ``None`` when it has no
    trial to run now: nothing is left to try, or (for a strategy that runs in parallel) every
    trial of the run is finished or in flight in another worker. Everything it needs to
    continue is read back from the study, so a run resumes. A strategy's fields are its
    options; the run's state lives in the ``Search``.
    """

    parallel: bool = False
    """Whether several trials of the strategy may run at once (in threads or workers): it
    asks its trials with ``study.ask_numbered``."""
    prunable: bool = False
    """Whether the strategy's trials score minibatches with ``search.trial_scores``, which may
    stop a hopeless one early."""

    @abstractmethod
    def next_trial(self, search: Search) -> TrialRecord | None:
        """Choose, score and record one configuration; ``None`` when nothing is left to try."""

    def num_trials(self, num_candidates: int, num_trials: int) -> int:
        """How many trials this strategy runs, given the optimizer's counts."""
        return num_trials

    def planned_program_runs(self, schedule: SearchSchedule, valset_size: int) -> int:
        """About how many times the search runs the program: minibatches, the baseline's full
        evaluation, and the later full evaluations, which skip the examples their
        configuration's minibatch already scored."""
        minibatch = min(schedule.minibatch_size, valset_size)
        later = 1 + schedule.num_trials // schedule.full_eval_every
        return schedule.num_trials * minibatch + valset_size + later * (valset_size - minibatch)

    def planned_proposals(self, num_trials: int, num_predictors: int) -> int:
        """How many instructions the search itself proposes."""
        return 0

    def proposal_model(self, search: Search) -> ProposalModel | None:
        """What the strategy learned about proposing, when it learns that."""
        return None


@dataclass(kw_only=True, eq=False)
class Search:
    """Runs ``strategy``'s trials until ``schedule.num_trials`` are complete, the strategy has
    nothing left to try, or the budget is spent (less ``reserved_calls``, kept for selection);
    full evaluations follow one schedule for every strategy. ``candidates`` may be replaced by
    a strategy that proposes new ones. ``n_jobs`` trials run at once in threads (a strategy
    that runs in parallel only); other processes may run trials of the same study at the same
    time (``mipro worker``)."""

    strategy: SearchStrategy
    program: Module
    candidates: Candidates
    groundings: Mapping[str, Grounding]
    valset: Sequence[Example]
    search_ids: Sequence[int] | None = None
    """The validation examples (indices into ``valset``) that minibatches and full evaluations
    use; the others are held out for selection. ``None``: all of them."""
    trainset: Sequence[Example] = ()
    """The training examples, of which selection may score those no LM was shown."""
    metric: Metric
    study: RunStudy
    schedule: SearchSchedule
    seed: int
    prompt_lm: LM
    """The proposer's LM, for strategies that propose during the search."""
    num_threads: int = 1
    n_jobs: int = 1
    """Trials in flight at once in this process (threads)."""
    prune: bool = False
    """Stop hopeless trials early (a strategy that prunes only; ``pruning.py``)."""
    max_errors: int | None = None
    """How many examples of one evaluation the program's code may raise on (never all)."""
    display_progress: bool = True
    on_trial: TrialListener | None = None
    on_full_evaluation: FullEvaluationListener | None = None
    """Called after each new full evaluation (the baseline's included)."""
    budget: CallBudget | None = None
    reserved_calls: int = 0
    """Calls of ``budget`` the search leaves for the stages after it."""
    stopped_by_budget: bool = field(default=False, init=False)
    program_failures: int = field(default=0, init=False)
    """Examples, over this process's evaluations, on which the program's code raised."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)
    _companions: dict[str, RunStudy] = field(default_factory=dict, init=False)
    _scores: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict, init=False)
    """Per configuration (key), the score of every validation example it passed through."""

    def run(self) -> None:
        """Evaluate the baseline, then trial after trial; raises nothing on budget exhaustion.

        An LM failure or a broken metric propagates: the trial or full evaluation in progress
        is abandoned unscored and its configuration queued, so a rerun redoes it. Every full
        evaluation has a slot (after every ``full_eval_every``-th trial, and the final one after
        the last trial) whose choice is stored before it is evaluated, so a resumed run (or a
        finished run run again) evaluates exactly what an uninterrupted run did, and nothing
        more. The final full evaluation waits for the trials other workers still run.
        """
        self.study.fail_stale_trials()
        if self.prune:
            self.study.study.pruner = PairedPruner(self.best_full_scores,
                                                   seed=sub_seed(self.seed, "prune"))
        self.study.describe = lambda configuration: trial_attributes(self.candidates, configuration)
        try:
            self.full_evaluate(self.candidates.baseline(), after_trial=-1)
            self._finish_cut_off_full_evaluations()
            if self.n_jobs == 1:
                self._run_trials()
            else:
                self._run_trials_in_threads()
            while self.study.running_trials():
                time.sleep(_WAIT)
            last = self.study.last_trial_number()
            self._full_evaluation_at(f"final:{last}", after_trial=last)
        except BudgetExhausted:
            self.stopped_by_budget = True

    @property
    def rejected_proposals(self) -> Counter[str]:
        """Proposals made during the search that were skipped, by reason (``proposal_filter``,
        or "unparseable"), by every process of the run."""
        return self.study.rejected_proposals()

    @property
    def skipped_proposals(self) -> int:
        """Proposals made during the search that were skipped, by every process of the run."""
        return sum(self.rejected_proposals.values())

    def _run_trials(self) -> None:
        """Run trials until the run has all its trials, nothing is left to try or the budget
        reserve is reached; wait while other workers run the run's last trials (one of them
        may die, and its trial come back to be tried again)."""
        while not self._stopping.is_set():
            if self._reserve_reached():
                self.stopped_by_budget = True
                return
            record = None
            if (self.study.count_active_trials() < self.schedule.num_trials
                    or self.study.queued_trials()):
                record = self.strategy.next_trial(self)
            if record is None:
                if not self.study.unfinished_trials():
                    return
                time.sleep(_WAIT)
                continue
            full = self._scheduled_full_evaluation(record.number)
            if self.on_trial:
                with self._lock:
                    self.on_trial(record, full)

    def _run_trials_in_threads(self) -> None:
        """``n_jobs`` threads run ``_run_trials``; the first error stops them all after the
        trials they are running, then propagates."""
        with ThreadPoolExecutor(self.n_jobs, thread_name_prefix="mipro-trials") as pool:
            futures = [pool.submit(contextvars.copy_context().run, self._run_trials)
                       for _ in range(self.n_jobs)]
            try:
                for future in as_completed(futures):
                    future.result()
            except BaseException:
                self._stopping.set()
                raise

    def companion(self, suffix: str) -> RunStudy:
        """The run's companion study ``<run>:<suffix>`` (opened once per search)."""
        if suffix not in self._companions:
            self._companions[suffix] = self.study.companion(suffix)
            self._companions[suffix].fail_stale_trials()
        return self._companions[suffix]

    def minibatch_ids(self, trial_number: int) -> list[int]:
        """The validation examples of one trial's minibatch, drawn from the search's examples
        (seeded by the trial number)."""
        usable = self.search_examples()
        size = min(self.schedule.minibatch_size, len(usable))
        rng = random.Random(sub_seed(self.seed, "minibatch", trial_number))
        return sorted(rng.sample(list(usable), size))

    def search_examples(self) -> Sequence[int]:
        """The validation examples the search may use (``search_ids``; default: all)."""
        return range(len(self.valset)) if self.search_ids is None else self.search_ids

    def trial_scores(self, trial: optuna.Trial, configuration: Configuration,
                     ids: Sequence[int]) -> dict[int, float]:
        """Score ``configuration`` on the minibatch ``ids`` of ``trial``, reporting each
        example's score to the trial (the step is the example's index). With ``prune``, the
        minibatch is scored in chunks and stops early when the study's pruner says the trial
        is hopeless: the scores of the examples run so far, by example."""
        reported: set[int] = set()

        def report(scores: dict[int, float]) -> None:
            for index, score in scores.items():
                if index not in reported:
                    trial.report(score, step=index)
                    reported.add(index)

        def hopeless(scores: dict[int, float]) -> bool:
            report(scores)
            return trial.should_prune()

        scores, _ = self._evaluate(configuration, ids, "Trial",
                                   stop=hopeless if self.prune else None)
        report(scores)
        return scores

    def score(self, configuration: Configuration, ids: Sequence[int]) -> float:
        """The mean score of ``configuration`` on the validation examples ``ids``. Raises, and
        scores nothing, when the LM fails or the metric is broken (``evaluate.py``)."""
        scores, _ = self._evaluate(configuration, ids, "Trial")
        return sum(scores.values()) / len(scores)

    def example_scores(self, configuration: Configuration, ids: Sequence[int], what: str, *,
                       dataset: Dataset = "valset") -> tuple[float, ...]:
        """The score of ``configuration`` on each example of ``ids`` (indices into ``dataset``),
        in order."""
        return tuple(self._evaluate(configuration, ids, what, dataset=dataset)[0].values())

    def best_full_scores(self) -> dict[int, float] | None:
        """The score on each example of the best fully evaluated configuration so far (the
        earliest on ties); ``None`` before the first full evaluation."""
        evaluations = self.study.full_evaluations()
        if not evaluations:
            return None
        best = max(evaluations, key=lambda record: (record.score, -record.after_trial))
        return self.study.full_evaluation_scores().get(configuration_key(best.configuration))

    def best_unevaluated(self, *, up_to: int) -> Configuration | None:
        """The configuration with the best mean minibatch score over the completed trials
        numbered ``0..up_to`` that was neither fully evaluated nor chosen for a full evaluation
        yet (``None``: every one was)."""
        scores: dict[str, list[float]] = defaultdict(list)
        configurations: dict[str, Configuration] = {}
        chosen = {configuration_key(c) for c in self.study.full_evaluation_choices().values()
                  if c is not None}
        for trial in self.study.completed_trials():
            if trial.number > up_to:
                continue
            configuration = {**self.candidates.baseline(), **trial.configuration}
            key = configuration_key(configuration)
            scores[key].append(trial.minibatch_score)
            configurations[key] = configuration
        ranked = sorted(scores, key=lambda key: -sum(scores[key]) / len(scores[key]))
        return next((configurations[key] for key in ranked if key not in chosen
                     and not self.study.has_full_evaluation(configurations[key])), None)

    def full_evaluate(self, configuration: Configuration, *, after_trial: int) -> FullEvaluation:
        """Score ``configuration`` on all the search's validation examples, once: a
        configuration evaluated before (also by an earlier process) gives back its stored record."""
        configuration = {**self.candidates.baseline(), **configuration}
        stored = self.study.full_evaluation(configuration)
        if stored is not None:
            return stored
        key = hashlib.sha256(configuration_key(configuration).encode()).hexdigest()[:16]
        with self.study.lock(f"full evaluation {key}").held():  # once, also among workers
            stored = self.study.full_evaluation(configuration)
            if stored is not None:
                return stored
            scores, num_failed = self._evaluate(configuration, self.search_examples(),
                                                "Full evaluation")
            record = FullEvaluation(configuration=configuration,
                                    score=sum(scores.values()) / len(scores),
                                    after_trial=after_trial, num_failed=num_failed)
            self.study.add_full_evaluation(record, scores)
        if self.on_full_evaluation:
            with self._lock:
                self.on_full_evaluation(record)
        return record

    def _finish_cut_off_full_evaluations(self) -> None:
        """Evaluate what a kill cut off: each slot's stored choice not yet evaluated, and the
        slot after the last finished trial when it was never chosen."""
        for slot, chosen in self.study.full_evaluation_choices().items():
            if chosen is not None and not self.study.has_full_evaluation(chosen):
                self.full_evaluate(chosen, after_trial=int(slot.rpartition(":")[2]))
        last = self.study.last_trial_number()
        if last >= 0:
            self._scheduled_full_evaluation(last)

    def _scheduled_full_evaluation(self, trial_number: int) -> FullEvaluation | None:
        """The full evaluation after trial ``trial_number``, when it is a ``full_eval_every``-th."""
        if (trial_number + 1) % self.schedule.full_eval_every:
            return None
        return self._full_evaluation_at(f"after:{trial_number}", after_trial=trial_number)

    def _full_evaluation_at(self, slot: str, *, after_trial: int) -> FullEvaluation | None:
        """Fully evaluate the best unevaluated configuration of the trials up to
        ``after_trial``; the choice is stored first, so a resumed run evaluates the same one."""
        chosen = self.study.full_evaluation_choice(
            slot, lambda: self.best_unevaluated(up_to=after_trial))
        if chosen is None:
            return None
        return self.full_evaluate(chosen, after_trial=after_trial)

    def _evaluate(self, configuration: Configuration, ids: Sequence[int], what: str, *,
                  stop: Callable[[dict[int, float]], bool] | None = None,
                  dataset: Dataset = "valset") -> tuple[dict[int, float], int]:
        """The score of ``configuration`` on each example of ``ids`` (indices into ``dataset``;
        by example, in the order of ``ids``), and on how many the prompt or the program failed.
        The program's code may raise on up to ``max_errors`` of them, and never on all. An
        example this configuration already passed through in this search (a minibatch, the
        baseline's full evaluation) is not run again: its score is reused. With ``stop``, the
        examples are run in chunks and ``stop(scores so far, by example)`` is asked after each;
        when it says so, only the scores of the examples run so far are returned (in the order
        of ``ids``)."""
        configuration = {**self.candidates.baseline(), **configuration}
        known = self._scores.setdefault((dataset, configuration_key(configuration)), {})
        missing = [i for i in ids if i not in known]
        if not missing:
            return _scored(ids, known, {}), 0
        fresh: dict[int, float] = {}
        num_failed = failures = 0
        allowed = error_budget(self.max_errors, len(ids))
        size = max(CHUNK, self.num_threads) if stop is not None else len(missing)
        program = build_program(self.program, self.candidates, configuration)
        for start in range(0, len(missing), size):
            evaluate = Evaluate(self.valset if dataset == "valset" else self.trainset,
                                self.metric, num_threads=self.num_threads,
                                max_errors=allowed - failures,
                                display_progress=self.display_progress,
                                description=what, dataset=dataset)
            result = evaluate(program, ids=missing[start:start + size])
            failures += result.program_failures
            with self._lock:
                self.program_failures += result.program_failures
            for outcome in result.results:
                fresh[outcome.index] = outcome.score
                if outcome.error is None:
                    known[outcome.index] = outcome.score  # a failure is run again next time
                else:
                    num_failed += 1
            if stop is not None and start + size < len(missing) and stop(_scored(ids, known, fresh)):
                break
        return _scored(ids, known, fresh), num_failed

    def _reserve_reached(self) -> bool:
        remaining = self.budget.remaining if self.budget else None
        return remaining is not None and remaining <= self.reserved_calls


def _scored(ids: Sequence[int], known: Mapping[int, float],
            fresh: Mapping[int, float]) -> dict[int, float]:
    """The scores of the examples of ``ids`` scored so far, in the order of ``ids``."""
    return {i: fresh[i] if i in fresh else known[i] for i in ids if i in fresh or i in known}
