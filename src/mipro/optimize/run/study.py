"""The run's storage: an Optuna study holding trials, candidates and full evaluations.

Trials are Optuna trials (parameters, minibatch score as the value, minibatch example ids as a
user attribute). Candidates, grounding, the run's fingerprint, full evaluations and the
per-example scores on the held-out selection examples are study user attributes, so a crashed
run resumes from storage and several workers can share one study; the study's locks and LM-call
budget are in the same database (``storage.py``).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from typing import Any

import optuna
from optuna.distributions import IntDistribution
from optuna.trial import TrialState
from sqlalchemy.exc import IntegrityError

from mipro.errors import ConfigurationError
from mipro.lm.redact import redact_url
from mipro.optimize.run.budget import CallBudget
from mipro.optimize.run.candidates import Candidates, Configuration, configuration_key
from mipro.optimize.run.fingerprint import changes
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.readable import (
    FULL_SCORE,
    METRIC_NAME,
    WINNER,
    candidates_note,
    save_dashboard_note,
)
from mipro.optimize.run.records import FullEvaluation, StageUsage, TrialRecord
from mipro.optimize.run.storage import (
    HEARTBEAT_INTERVAL,
    RunDatabase,
    StoredLock,
    owner_is_dead,
    quiet_optuna,
    retry_trial,
    storage_url,
    worker_id,
)

_CANDIDATES = "candidates"
_GROUNDINGS = "groundings"
_BUILD_NOTES = "candidates_built"
_FINGERPRINT = "fingerprint"
_FULL_EVAL_PREFIX = "full_eval:"
_FULL_EVAL_CHOICE_PREFIX = "full_eval_choice:"
_SELECTION_TRAIN_IDS = "selection_train_ids"
_HOLDOUT_PREFIX = "holdout:"
_FULL_SCORES_PREFIX = "full_eval_scores:"
_WORKER = "worker"
_NUMBER = "number"
_SETTINGS = "settings"
_MINIBATCH_IDS = "minibatch_ids"
_REJECTED_PROPOSALS = "rejected_proposals"
_RESULT = "result"
_STAGE_USAGE = "stage_usage"
_MAX_INDEX = 2**31 - 1
"""Upper bound of the index distribution of recorded trials (candidates may grow during a run)."""
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_TAKEN = (*_FINISHED, TrialState.RUNNING, TrialState.WAITING)
"""Trials that hold their number: finished, running, or queued to be tried again."""


class RunStudy:
    """A thin facade over one Optuna study: what the optimizer reads and records."""

    def __init__(self, run_name: str, database: RunDatabase, fingerprint: dict[str, Any]) -> None:
        """Open (or create) the study ``run_name`` in ``database``; ``fingerprint`` is what
        identifies the run, and a stored study with another fingerprint is refused."""
        self.database, self.fingerprint = database, fingerprint
        self.url = redact_url(database.url)
        """The storage URL as it may be shown (a password in it is masked)."""
        with quiet_optuna():
            self.study = optuna.create_study(study_name=run_name, storage=database.optuna,
                                             direction="maximize", load_if_exists=True)
        if not self.study.metric_names:
            with warnings.catch_warnings():  # set_metric_names is experimental in Optuna
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self.study.set_metric_names([METRIC_NAME])
        with self.lock("fingerprint").held():
            self._check_fingerprint(fingerprint)
        self._asking = threading.Lock()
        """Serializes this process's asks (each sets the study's sampler)."""
        self.describe: Callable[[Configuration], dict[str, Any]] | None = None
        """What a trial of a configuration shows besides its indices (set by the search)."""

    @classmethod
    def open(cls, run_name: str, storage: str | None, fingerprint: dict[str, Any], *,
             fresh: bool = False, heartbeat_interval: int = HEARTBEAT_INTERVAL) -> RunStudy:
        """The run ``run_name`` in ``storage`` (default ``./mipro_runs/<run_name>.db``);
        ``fresh`` deletes the stored run (companion studies, budget and locks too) first.
        Running trials beat a heartbeat every ``heartbeat_interval`` seconds
        (``storage.py``)."""
        database = RunDatabase.open(storage_url(run_name, storage),
                                    heartbeat_interval=heartbeat_interval)
        if fresh:
            database.delete_run(run_name)
        return cls(run_name, database, fingerprint)

    @classmethod
    def open_existing(cls, run_name: str, url: str) -> RunStudy:
        """Open a stored study to read it (no fingerprint check, nothing written)."""
        study = cls.__new__(cls)
        study.url, study.describe, study._asking = url, None, threading.Lock()
        with quiet_optuna():
            study.study = optuna.load_study(study_name=run_name, storage=url)
        study.fingerprint = dict(study.study.user_attrs.get(_FINGERPRINT) or {})
        return study

    def companion(self, suffix: str) -> RunStudy:
        """Another study of this run in the same storage (e.g. MIPRO++'s proposal model)."""
        return RunStudy(f"{self.study.study_name}:{suffix}", self.database, self.fingerprint)

    def lock(self, purpose: str) -> StoredLock:
        """The lock ``purpose`` of this run, shared by every process of it."""
        return self.database.lock(f"{self.study.study_name}:{purpose}")

    def call_budget(self, max_calls: int | None) -> CallBudget:
        """The run's LM-call budget, counted in the storage across processes and resumes."""
        return CallBudget(self.database.engine, self.study.study_name, max_calls)

    def _check_fingerprint(self, fingerprint: dict[str, Any]) -> None:
        stored = self.study.user_attrs.get(_FINGERPRINT)
        normalized = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
        if stored is None:
            self.study.set_user_attr(_FINGERPRINT, normalized)
            return
        changed = changes(stored, normalized)
        if changed:
            details = "".join(f"\n  {change}" for change in changed)
            raise ConfigurationError(
                f"run {self.study.study_name!r} in {self.url} was started with another metric, "
                f"program, LM, data or settings; changed:{details}\nTo resume it, run it as it "
                "was started. To start over, pass another run_name, or fresh=True (--fresh on the "
                "command line) to delete the stored run."
            )

    @property
    def settings(self) -> dict[str, Any]:
        """How the run was started (``keep_settings``); empty when nothing was stored."""
        return dict(self.study.user_attrs.get(_SETTINGS) or {})

    def keep_settings(self, settings: dict[str, Any]) -> None:
        """Store how the run was started (its optimizer, plan and options), unless stored."""
        if _SETTINGS not in self.study.user_attrs:
            self.study.set_user_attr(_SETTINGS, json.loads(json.dumps(settings, default=str)))

    # Candidates -------------------------------------------------------------------------
    def candidates(self, build: Callable[[], tuple[Candidates, Mapping[str, Grounding], dict[str, Any]]],
                   on_wait: Callable[[str], None] | None = None
                   ) -> tuple[Candidates, dict[str, Grounding], dict[str, Any]]:
        """The run's candidates, groundings and JSON notes on how they were built (e.g. what
        became of the proposals): read from the study, or built by ``build()`` in exactly one
        process, the one that takes the study's lock; the others wait for it
        (``on_wait(holder)``), then read them. Exceptions of ``build`` propagate, and nothing
        is stored."""
        stored = self._stored_candidates()
        if stored is not None:
            return stored
        with self.lock("candidates").held(on_wait):
            stored = self._stored_candidates()
            if stored is not None:
                return stored
            candidates, groundings, notes = build()
            self.study.set_user_attr(_BUILD_NOTES, notes)
            self.save_groundings(groundings)
            self.save_candidates(candidates)  # last: stored candidates mean "built"
            return candidates, dict(groundings), notes

    def _stored_candidates(self) -> tuple[Candidates, dict[str, Grounding], dict[str, Any]] | None:
        candidates, groundings = self.load_candidates(), self.load_groundings()
        if candidates is None or groundings is None:
            return None
        return candidates, groundings, dict(self.study.user_attrs.get(_BUILD_NOTES, {}))

    def load_candidates(self) -> Candidates | None:
        stored = self.study.user_attrs.get(_CANDIDATES)
        if isinstance(stored, str):  # how earlier builds stored them (JSON in a JSON string)
            return Candidates.from_json(stored)
        return Candidates.from_dict(stored) if stored else None

    def save_candidates(self, candidates: Candidates) -> None:
        """Store the candidates (and list them in optuna-dashboard's note of the study)."""
        self.study.set_user_attr(_CANDIDATES, candidates.as_dict())
        save_dashboard_note(self.study, candidates_note(self.study.study_name, candidates))

    def load_groundings(self) -> dict[str, Grounding] | None:
        """What proposers may be shown, per predictor, as saved when the candidates were built."""
        stored = self.study.user_attrs.get(_GROUNDINGS)
        if stored is None:
            return None
        return {
            name: Grounding(dataset_summary=fields["dataset_summary"],
                            program_summary=fields["program_summary"], role=fields["role"],
                            demo_sets=tuple(tuple(demo_set) for demo_set in fields["demo_sets"]))
            for name, fields in stored.items()
        }

    def save_groundings(self, groundings: Mapping[str, Grounding]) -> None:
        self.study.set_user_attr(_GROUNDINGS, {
            name: {"dataset_summary": g.dataset_summary, "program_summary": g.program_summary,
                   "role": g.role, "demo_sets": [list(demo_set) for demo_set in g.demo_sets]}
            for name, g in groundings.items()
        })

    # Trials -----------------------------------------------------------------------------
    def completed_trials(self) -> list[TrialRecord]:
        """The completed trials in order of their numbers (a trial's number is the smallest
        one free when it was asked, so a trial cut off by a kill is asked again with its number;
        with one worker, the number is its place among the completed trials)."""
        trials = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return sorted((_record(t, place) for place, t in enumerate(trials)), key=lambda r: r.number)

    def finished_trials(self) -> list[TrialRecord]:
        """The completed and the pruned trials (``pruned``; scored on part of their minibatch)
        in order of their numbers."""
        trials = self.study.get_trials(deepcopy=False, states=_FINISHED)
        return sorted((_record(t, place) for place, t in enumerate(trials)), key=lambda r: r.number)

    def trial_number(self, trial: optuna.trial.FrozenTrial) -> int | None:
        """The mipro number of a stored trial (``None``: one stored without it)."""
        number = trial.user_attrs.get(_NUMBER)
        return int(number) if number is not None else None

    def last_trial_number(self) -> int:
        """The highest number of a finished (completed or pruned) trial; -1 before any."""
        numbers = [self.trial_number(t) for t in self.study.get_trials(deepcopy=False, states=_FINISHED)]
        return max((n for n in numbers if n is not None), default=-1)

    def count_active_trials(self) -> int:
        """Trials finished (completed or pruned), running in a live worker, or queued to be
        tried again. A RUNNING trial without an owner is not counted: a SIGKILL between
        creating a trial and naming its worker leaves one that no worker will finish (the next
        ``ask_numbered`` fails it)."""
        trials = self.study.get_trials(deepcopy=False, states=_TAKEN)
        return sum(trial.state != TrialState.RUNNING or bool(trial.user_attrs.get(_WORKER))
                   for trial in trials)

    def count_finished_trials(self) -> int:
        """Trials completed or pruned."""
        return len(self.study.get_trials(deepcopy=False, states=_FINISHED))

    def unfinished_trials(self) -> int:
        """Trials running in live workers or queued to be tried again (after failing the
        trials of dead workers)."""
        return self.running_trials() + self.queued_trials()

    def running_trials(self) -> int:
        """Trials running in live workers (after failing the trials of dead workers; a trial
        without an owner is not counted)."""
        self.fail_stale_trials()
        trials = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return sum(bool(trial.user_attrs.get(_WORKER)) for trial in trials)

    def queued_trials(self) -> int:
        """Trials whose worker died, queued to be tried again."""
        return len(self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))

    def fail_stale_trials(self, *, ownerless: bool = False) -> int:
        """Fail the trials of dead workers and queue their configurations to be tried again:
        those left RUNNING by a dead process on this host at once, those of any host whose
        heartbeat stopped for the grace period (Optuna's heartbeat), and with ``ownerless``
        (only under the run's "trials" lock, where every ask names its worker) those whose
        worker was killed before it named itself; returns how many it found at once."""
        failed = 0
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = str(trial.user_attrs.get(_WORKER, ""))
            if owner_is_dead(owner) or (ownerless and not owner):
                try:
                    frozen = self.study.tell(trial.number, state=TrialState.FAIL)
                except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
                    continue  # another worker failed it first
                retry_trial(self.study, frozen)
                failed += 1
        with _quiet_warnings():  # Optuna's heartbeat is experimental
            optuna.storages.fail_stale_trials(self.study)
        return failed

    def ask(self, distributions: dict[str, optuna.distributions.BaseDistribution],
            sampler: optuna.samplers.BaseSampler) -> optuna.Trial:
        """A new trial of ``distributions`` drawn by ``sampler`` (a queued retry first)."""
        with self._asking, _interrupts_deferred():  # a trial without its owner would never be reclaimed
            self.study.sampler = sampler
            with _quiet_warnings():  # Optuna's heartbeat expects Study.optimize's loop
                trial = self.study.ask(distributions)
            self._beat(trial)  # first: a named trial always has a heartbeat to go stale
            trial.set_user_attr(_WORKER, worker_id())
        return trial

    def ask_numbered(self, distributions: dict[str, optuna.distributions.BaseDistribution],
                     sampler_for: Callable[[int], optuna.samplers.BaseSampler],
                     *, limit: int) -> tuple[optuna.Trial, int] | None:
        """A trial of the run and its number, ``None`` when the run's ``limit`` trials are all
        finished or in flight. A queued retry comes first and keeps the number of the trial it
        repeats; else the trial gets the smallest number no finished, running or queued trial
        holds, and ``sampler_for(number)`` draws it. Numbers are given under the run's lock,
        so workers never share one."""
        with self.lock("trials").held():
            self.fail_stale_trials(ownerless=True)
            taken = self.study.get_trials(deepcopy=False, states=_TAKEN)
            waiting = any(t.state == TrialState.WAITING for t in taken)
            if not waiting and len(taken) >= limit:
                return None
            numbers = {self.trial_number(t) for t in taken}
            free = next(n for n in range(len(taken) + 1) if n not in numbers)
            trial = self.ask(distributions, sampler_for(free))
            number = int(trial.user_attrs.get(_NUMBER, free))
            trial.set_user_attr(_NUMBER, number)
        return trial, number

    @contextlib.contextmanager
    def heartbeat(self, trial: optuna.Trial) -> Iterator[None]:
        """Beat ``trial``'s heartbeat while the block runs, so that no worker takes it for dead."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.database.heartbeat_interval):
                self._beat(trial)

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _beat(self, trial: optuna.Trial) -> None:
        self.database.optuna.record_heartbeat(trial._trial_id)

    def tell(self, trial: optuna.Trial, score: float, minibatch_ids: list[int]) -> None:
        """Record ``trial``'s minibatch score; dropped when the trial was failed meanwhile
        (its heartbeat went stale, so another worker took it for dead and queued its retry)."""
        with _interrupts_deferred(), _unless_finished():  # written whole or not at all
            trial.set_user_attr(_MINIBATCH_IDS, minibatch_ids)
            for key, value in self._described(dict(trial.params)).items():
                trial.set_user_attr(key, value)
            self.study.tell(trial, score, skip_if_finished=True)

    def prune(self, trial: optuna.Trial, scored_ids: list[int]) -> None:
        """Record ``trial`` as pruned after scoring the examples ``scored_ids``: its reported
        per-example scores stay, and the sampler learns it was stopped as hopeless."""
        with _interrupts_deferred(), _unless_finished():
            trial.set_user_attr(_MINIBATCH_IDS, scored_ids)
            for key, value in self._described(dict(trial.params)).items():
                trial.set_user_attr(key, value)
            self.study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)

    def abandon(self, trial: optuna.Trial) -> None:
        """Fail ``trial`` (it was cut off unscored) and queue its configuration to be tried again."""
        with _interrupts_deferred():
            try:
                frozen = self.study.tell(trial, state=TrialState.FAIL)
            except ValueError:
                return  # another worker failed it (and queued its retry) first
            retry_trial(self.study, frozen)

    def next_trial_number(self) -> int:
        """The number the next trial gets: the smallest that no finished, running or queued
        trial holds (with one worker: how many trials are complete). A trial cut off by a
        kill gives its number back, so a resumed run repeats what an uninterrupted one would
        have done."""
        taken = self.study.get_trials(deepcopy=False, states=_TAKEN)
        numbers = {self.trial_number(t) for t in taken}
        return next(n for n in range(len(taken) + 1) if n not in numbers)

    def add_trial(self, configuration: Configuration, score: float, minibatch_ids: list[int],
                  *, rejected_proposals: Mapping[str, int] | None = None) -> TrialRecord:
        """Store a finished trial whose configuration the optimizer chose itself (no sampler),
        with the proposals made for it that were skipped, by reason."""
        number = self.next_trial_number()
        self.study.add_trial(optuna.trial.create_trial(
            params=dict(configuration), value=score,
            distributions={name: IntDistribution(0, _MAX_INDEX) for name in configuration},
            user_attrs={_MINIBATCH_IDS: minibatch_ids, _WORKER: worker_id(), _NUMBER: number,
                        _REJECTED_PROPOSALS: dict(rejected_proposals or {}),
                        **self._described(configuration)},
        ))
        return TrialRecord(number=number, configuration=dict(configuration),
                           minibatch_ids=tuple(minibatch_ids), minibatch_score=score)

    def rejected_proposals(self) -> Counter[str]:
        """Proposals the completed trials skipped (of strategies that propose during the
        search), by reason, over every process of the run: a trial cut off by a kill counts
        none, and the trial made again counts its own."""
        rejected: Counter[str] = Counter()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            rejected.update(trial.user_attrs.get(_REJECTED_PROPOSALS, {}))
        return rejected

    def _described(self, configuration: Configuration) -> dict[str, Any]:
        return self.describe(configuration) if self.describe else {}

    # Full evaluations -------------------------------------------------------------------
    def full_evaluations(self) -> list[FullEvaluation]:
        records = [
            FullEvaluation(**value) for key, value in self.study.user_attrs.items()
            if key.startswith(_FULL_EVAL_PREFIX)
        ]
        return sorted(records, key=lambda record: record.after_trial)

    def has_full_evaluation(self, configuration: Configuration) -> bool:
        return _FULL_EVAL_PREFIX + configuration_key(configuration) in self.study.user_attrs

    def full_evaluation(self, configuration: Configuration) -> FullEvaluation | None:
        stored = self.study.user_attrs.get(_FULL_EVAL_PREFIX + configuration_key(configuration))
        return FullEvaluation(**stored) if stored else None

    def full_evaluation_choices(self) -> dict[str, Configuration | None]:
        """The configuration chosen for each full-evaluation slot so far (``None``: nothing
        was left to evaluate)."""
        attrs = self.study.user_attrs
        return {key.removeprefix(_FULL_EVAL_CHOICE_PREFIX): value for key, value in attrs.items()
                if key.startswith(_FULL_EVAL_CHOICE_PREFIX)}

    def full_evaluation_choice(self, slot: str,
                               choose: Callable[[], Configuration | None]) -> Configuration | None:
        """The configuration chosen for the full evaluation ``slot`` (``None``: nothing was left
        to evaluate). The first time, ``choose()`` decides, and the choice is stored before it
        is evaluated: a run killed during the evaluation evaluates the same one on resume."""
        return self._choose_once(_FULL_EVAL_CHOICE_PREFIX + slot, choose)  # type: ignore[no-any-return]

    def selection_train_ids(self, choose: Callable[[], tuple[int, ...]]) -> tuple[int, ...]:
        """The training examples selection compares on besides the held-out ones: ``choose()``
        decides the first time (it depends on the budget left), and the choice is stored
        before any is scored, so a resumed run compares on the same ones."""
        return tuple(self._choose_once(_SELECTION_TRAIN_IDS, lambda: list(choose())))

    def _choose_once(self, key: str, choose: Callable[[], Any]) -> Any:
        """The value stored under ``key``; the first time, ``choose()``'s, stored at once (one
        choice among threads and workers)."""
        with self.lock("choice").held():
            attrs = self.study.user_attrs
            if key in attrs:
                return attrs[key]
            chosen = choose()
            self.study.set_user_attr(key, chosen)
            return chosen

    def full_evaluation_scores(self) -> dict[str, dict[int, float]]:
        """Per fully evaluated configuration (key), its score on each example of the search."""
        return {key.removeprefix(_FULL_SCORES_PREFIX): {int(i): s for i, s in value.items()}
                for key, value in self.study.user_attrs.items()
                if key.startswith(_FULL_SCORES_PREFIX)}

    def add_full_evaluation(self, record: FullEvaluation,
                            example_scores: Mapping[int, float] | None = None) -> None:
        """Store a full evaluation, and its score on each example (for the pruner)."""
        if example_scores is not None:  # first: a stored evaluation has its scores
            self.study.set_user_attr(_FULL_SCORES_PREFIX + configuration_key(record.configuration),
                                     {str(i): s for i, s in example_scores.items()})
        key = _FULL_EVAL_PREFIX + configuration_key(record.configuration)
        self.study.set_user_attr(key, {
            "configuration": record.configuration, "score": record.score,
            "after_trial": record.after_trial, "num_failed": record.num_failed,
        })
        for trial in self._trials_of(record.configuration):
            _set_finished_trial_attr(self.study, trial, FULL_SCORE, record.score)

    # The outcome ------------------------------------------------------------------------
    def mark_winner(self, configuration: Configuration, score: float,
                    summary: dict[str, Any]) -> None:
        """Mark the winner, the selected ``configuration`` with its reported (held-out)
        ``score`` (a study attribute, and a ``winner`` attribute on its trials), and store the
        run's ``summary`` (usage, selection, skipped proposals, ...) for ``load_run``."""
        trials = self._trials_of(configuration)
        self.study.set_user_attr(WINNER, {
            "configuration": configuration, "score": score,
            "trials": [trial.number for trial in trials],
        })
        for trial in trials:
            _set_finished_trial_attr(self.study, trial, WINNER, True)
        self.study.set_user_attr(_RESULT, summary)
        candidates = self.load_candidates()
        if candidates is not None:
            save_dashboard_note(self.study, candidates_note(
                self.study.study_name, candidates, winner=configuration,
                decision=(summary.get("selection") or {}).get("reason")))

    def _trials_of(self, configuration: Configuration) -> list[optuna.trial.FrozenTrial]:
        """The completed trials whose configuration is ``configuration`` (missing parameters
        taken as the baseline's, index 0)."""
        key = configuration_key(configuration)
        trials = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return [t for t in trials
                if configuration_key({**dict.fromkeys(configuration, 0), **t.params}) == key]

    # What the stages spent ------------------------------------------------------------
    def stage_usage(self) -> dict[str, StageUsage]:
        """What each stage of the run spent so far, over every process of the run."""
        stored = self.study.user_attrs.get(_STAGE_USAGE) or {}
        return {stage: StageUsage(**values) for stage, values in stored.items()}

    def add_stage_usage(self, stage: str, spent: StageUsage) -> None:
        """Add ``spent`` to what ``stage`` spent (every process of the run adds its own)."""
        with self.lock("stage usage").held():
            stages = self.stage_usage()
            stages[stage] = stages[stage] + spent if stage in stages else spent
            self.study.set_user_attr(_STAGE_USAGE, {name: asdict(usage)
                                                    for name, usage in stages.items()})

    # Held-out scores (selection) --------------------------------------------------------
    def holdout_scores(self, configuration: Configuration) -> tuple[float, ...] | None:
        """The per-example scores of ``configuration`` on the run's held-out examples, if stored."""
        stored = self.study.user_attrs.get(_HOLDOUT_PREFIX + configuration_key(configuration))
        return tuple(stored) if stored is not None else None

    def add_holdout_scores(self, configuration: Configuration, scores: tuple[float, ...]) -> None:
        self.study.set_user_attr(_HOLDOUT_PREFIX + configuration_key(configuration), list(scores))


_WARNINGS = threading.Lock()


@contextlib.contextmanager
def _unless_finished() -> Iterator[None]:
    """Drop the block's writes to a trial that another worker failed meanwhile."""
    try:
        yield
    except optuna.exceptions.UpdateFinishedTrialError:
        pass


@contextlib.contextmanager
def _quiet_warnings() -> Iterator[None]:
    """Hide Optuna's warnings that its heartbeat is experimental and expects ``Study.optimize``
    (one thread at a time: ``catch_warnings`` changes the process's filters)."""
    with _WARNINGS, warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
        yield


def _record(trial: optuna.trial.FrozenTrial, place: int) -> TrialRecord:
    number = trial.user_attrs.get(_NUMBER, place)
    scores = trial.intermediate_values
    if trial.state == TrialState.PRUNED:
        score = sum(scores.values()) / len(scores) if scores else 0.0
    else:
        score = float(trial.value if trial.value is not None else 0.0)
    return TrialRecord(number=int(number), configuration=dict(trial.params),
                       minibatch_ids=tuple(trial.user_attrs.get(_MINIBATCH_IDS, ())),
                       minibatch_score=score, pruned=trial.state == TrialState.PRUNED)


def _set_finished_trial_attr(study: optuna.Study, trial: optuna.trial.FrozenTrial, key: str,
                             value: Any) -> None:
    """Set a user attribute of a finished trial. Optuna's API refuses that, so with an RDB
    storage (SQLite, PostgreSQL: what runs use) the row is written directly; other storages
    keep the information in the study's attributes only."""
    storage = getattr(study._storage, "_backend", study._storage)
    if not isinstance(storage, optuna.storages.RDBStorage):
        return
    from optuna.storages._rdb import models

    for attempt in range(2):  # another process may insert the row between our read and write
        with storage.scoped_session() as session:
            row = (session.query(models.TrialUserAttributeModel)
                   .filter_by(trial_id=trial._trial_id, key=key).one_or_none())
            if row is None:
                session.add(models.TrialUserAttributeModel(trial_id=trial._trial_id, key=key,
                                                           value_json=json.dumps(value)))
            else:
                row.value_json = json.dumps(value)
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()
                if attempt:
                    raise


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives inside the block until the block's storage writes
    are done, then deliver it. Only the main thread receives signals; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, None)
        elif received and previous == signal.SIG_DFL:
            raise KeyboardInterrupt

