"""The run's storage: an Optuna study holding trials, candidates and full evaluations.

Trials are Optuna trials (parameters, minibatch score as the value, minibatch example ids as a
user attribute). Candidates, grounding, the run's fingerprint and full evaluations are study
user attributes, so a crashed run resumes from storage and several workers can share one study.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

from mipro.errors import ConfigurationError
from mipro.optimize.run.candidates import Candidates, Configuration, configuration_key
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.readable import FULL_SCORE, METRIC_NAME, WINNER
from mipro.optimize.run.records import FullEvaluation, TrialRecord

_CANDIDATES = "candidates"
_GROUNDINGS = "groundings"
_FINGERPRINT = "fingerprint"
_FULL_EVAL_PREFIX = "full_eval:"
_WORKER = "worker"
_MINIBATCH_IDS = "minibatch_ids"
_RESULT = "result"
_MAX_INDEX = 2**31 - 1
"""Upper bound of the index distribution of recorded trials (candidates may grow during a run)."""


def storage_url(run_name: str, storage: str | None) -> str:
    """The Optuna storage URL of a run: ``storage`` as given, else ``./mipro_runs/<run>.db``;
    a relative SQLite path is made absolute (so the URL works from any directory)."""
    url = absolute_url(storage or f"sqlite:///{Path('mipro_runs') / f'{run_name}.db'}")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def absolute_url(url: str) -> str:
    """``url`` with a relative SQLite path made absolute; other URLs as given."""
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and path != ":memory:" and not Path(path).is_absolute():
        return f"sqlite:///{Path(path).resolve()}"
    return url


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class RunStudy:
    """A thin facade over one Optuna study: what the optimizer reads and records."""

    def __init__(self, run_name: str, storage: str | None, fingerprint: dict[str, Any]) -> None:
        """Open (or create) the study ``run_name``; ``fingerprint`` is what identifies the run,
        and a stored study with another fingerprint is refused."""
        self.url = storage_url(run_name, storage)
        self.fingerprint = fingerprint
        with _quiet_optuna():
            self.study = optuna.create_study(
                study_name=run_name, storage=self.url, direction="maximize", load_if_exists=True
            )
        if not self.study.metric_names:
            with warnings.catch_warnings():  # set_metric_names is experimental in Optuna
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self.study.set_metric_names([METRIC_NAME])
        self._check_fingerprint(fingerprint)
        self.describe: Callable[[Configuration], dict[str, Any]] | None = None
        """What a trial of a configuration shows besides its indices (set by the search)."""

    @classmethod
    def open_existing(cls, run_name: str, url: str) -> RunStudy:
        """Open a stored study to read it (no fingerprint check, nothing written)."""
        study = cls.__new__(cls)
        study.url, study.describe = url, None
        with _quiet_optuna():
            study.study = optuna.load_study(study_name=run_name, storage=url)
        study.fingerprint = dict(study.study.user_attrs.get(_FINGERPRINT) or {})
        return study

    def companion(self, suffix: str) -> RunStudy:
        """Another study of this run in the same storage (e.g. MIPRO++'s proposal model)."""
        return RunStudy(f"{self.study.study_name}:{suffix}", self.url, self.fingerprint)

    def _check_fingerprint(self, fingerprint: dict[str, Any]) -> None:
        stored = self.study.user_attrs.get(_FINGERPRINT)
        normalized = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
        if stored is None:
            self.study.set_user_attr(_FINGERPRINT, normalized)
            return
        changed = {k: (stored.get(k), v) for k, v in normalized.items() if stored.get(k) != v}
        if changed:
            details = ", ".join(f"{k}: stored {old!r}, now {new!r}" for k, (old, new) in changed.items())
            raise ConfigurationError(
                f"run {self.study.study_name!r} in {self.url} was started with other arguments "
                f"({details}); use another run_name, or the same arguments to resume it"
            )

    # Candidates -------------------------------------------------------------------------
    def load_candidates(self) -> Candidates | None:
        text = self.study.user_attrs.get(_CANDIDATES)
        return Candidates.from_json(text) if text else None

    def save_candidates(self, candidates: Candidates) -> None:
        self.study.set_user_attr(_CANDIDATES, candidates.to_json())

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
        trials = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return [
            TrialRecord(number=t.number, configuration=dict(t.params),
                        minibatch_ids=tuple(t.user_attrs.get(_MINIBATCH_IDS, ())),
                        minibatch_score=float(t.value if t.value is not None else 0.0))
            for t in sorted(trials, key=lambda t: t.number)
        ]

    def count_active_trials(self) -> int:
        """Trials completed, or still running in a live worker."""
        states = (TrialState.COMPLETE, TrialState.RUNNING)
        return len(self.study.get_trials(deepcopy=False, states=states))

    def fail_stale_trials(self) -> int:
        """Mark trials left RUNNING by a dead worker on this host as failed; returns how many."""
        host = socket.gethostname()
        failed = 0
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = str(trial.user_attrs.get(_WORKER, ""))
            owner_host, _, pid = owner.partition(":")
            if owner_host == host and pid.isdigit() and not _process_alive(int(pid)):
                self.study.tell(trial.number, state=TrialState.FAIL)
                failed += 1
        return failed

    def ask(self, distributions: dict[str, optuna.distributions.BaseDistribution],
            sampler: optuna.samplers.BaseSampler) -> optuna.Trial:
        self.study.sampler = sampler
        with _interrupts_deferred():  # a trial without its owner would never be reclaimed
            trial = self.study.ask(distributions)
            trial.set_user_attr(_WORKER, worker_id())
        return trial

    def tell(self, trial: optuna.Trial, score: float, minibatch_ids: list[int]) -> None:
        with _interrupts_deferred():  # a scored trial is written whole or not at all
            trial.set_user_attr(_MINIBATCH_IDS, minibatch_ids)
            for key, value in self._described(dict(trial.params)).items():
                trial.set_user_attr(key, value)
            self.study.tell(trial, score)

    def abandon(self, trial: optuna.Trial) -> None:
        self.study.tell(trial, state=TrialState.FAIL)

    def next_trial_number(self) -> int:
        """The number the next trial of this study will get (with one worker)."""
        return len(self.study.get_trials(deepcopy=False))

    def add_trial(self, configuration: Configuration, score: float,
                  minibatch_ids: list[int]) -> TrialRecord:
        """Store a finished trial whose configuration the optimizer chose itself (no sampler)."""
        number = self.next_trial_number()
        self.study.add_trial(optuna.trial.create_trial(
            params=dict(configuration), value=score,
            distributions={name: IntDistribution(0, _MAX_INDEX) for name in configuration},
            user_attrs={_MINIBATCH_IDS: minibatch_ids, _WORKER: worker_id(),
                        **self._described(configuration)},
        ))
        return TrialRecord(number=number, configuration=dict(configuration),
                           minibatch_ids=tuple(minibatch_ids), minibatch_score=score)

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

    def add_full_evaluation(self, record: FullEvaluation) -> None:
        key = _FULL_EVAL_PREFIX + configuration_key(record.configuration)
        self.study.set_user_attr(key, {
            "configuration": record.configuration, "score": record.score,
            "after_trial": record.after_trial, "num_failed": record.num_failed,
        })
        for trial in self._trials_of(record.configuration):
            _set_finished_trial_attr(self.study, trial, FULL_SCORE, record.score)

    # The outcome ------------------------------------------------------------------------
    def mark_winner(self, winner: FullEvaluation, summary: dict[str, Any]) -> None:
        """Mark the winner (a study attribute, and a ``winner`` attribute on its trials) and
        store the run's ``summary`` (usage, skipped proposals, ...) for ``load_run``."""
        trials = self._trials_of(winner.configuration)
        self.study.set_user_attr(WINNER, {
            "configuration": winner.configuration, "score": winner.score,
            "trials": [trial.number for trial in trials],
        })
        for trial in trials:
            _set_finished_trial_attr(self.study, trial, WINNER, True)
        self.study.set_user_attr(_RESULT, summary)

    def _trials_of(self, configuration: Configuration) -> list[optuna.trial.FrozenTrial]:
        """The completed trials whose configuration is ``configuration`` (missing parameters
        taken as the baseline's, index 0)."""
        key = configuration_key(configuration)
        trials = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return [t for t in trials
                if configuration_key({**dict.fromkeys(configuration, 0), **t.params}) == key]


_CREATION_LOGGERS = ("optuna.storages._rdb.storage", "optuna.study.study")
"""Where Optuna says at INFO level that a study was created or loaded."""


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Drop Optuna's INFO lines about creating or loading a study while this block runs; the
    process's logging configuration (levels, handlers) is left as it is."""
    hide = logging.Filter()
    hide.filter = lambda record: record.levelno >= logging.WARNING  # type: ignore[method-assign]
    loggers = [logging.getLogger(name) for name in _CREATION_LOGGERS]
    for logger in loggers:
        logger.addFilter(hide)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(hide)


def _set_finished_trial_attr(study: optuna.Study, trial: optuna.trial.FrozenTrial, key: str,
                             value: Any) -> None:
    """Set a user attribute of a finished trial. Optuna's API refuses that, so with an RDB
    storage (SQLite, PostgreSQL: what runs use) the row is written directly; other storages
    keep the information in the study's attributes only."""
    storage = getattr(study._storage, "_backend", study._storage)
    if not isinstance(storage, optuna.storages.RDBStorage):
        return
    from optuna.storages._rdb import models

    with storage.scoped_session() as session:
        row = (session.query(models.TrialUserAttributeModel)
               .filter_by(trial_id=trial._trial_id, key=key).one_or_none())
        if row is None:
            session.add(models.TrialUserAttributeModel(trial_id=trial._trial_id, key=key,
                                                       value_json=json.dumps(value)))
        else:
            row.value_json = json.dumps(value)
        session.commit()


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


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
