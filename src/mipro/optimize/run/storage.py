"""The run's database: Optuna's RDB storage, opened so that several processes may start one run
at once, and two small tables of mipro's own beside Optuna's: locks and call budgets.

A lock (``StoredLock``) lets exactly one process of a run (on any machine that reaches the
database) do something, such as building the candidates, while the others wait. A budget row
(``BUDGETS``) counts a run's LM calls atomically across processes and resumed runs
(``budget.py``).

Running trials and held locks beat a heartbeat every ``heartbeat_interval`` seconds (Optuna's
heartbeat for trials). A trial or lock whose heartbeat is older than ``grace_period`` belongs
to a dead worker, on any machine: the trial is failed and its configuration retried
(``RetryHeartbeatStaleTrialCallback``), the lock taken over.

SQLite files are switched to write-ahead logging with ``synchronous=NORMAL``: readers do not
block the writer and a commit needs no disk flush. A killed process loses nothing it committed;
a power cut may lose the last commits. (WAL needs a local disk; share a run across machines
through PostgreSQL.) Other storage URLs are used as they are.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import warnings

import optuna
import sqlalchemy
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, event, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from mipro.errors import ConfigurationError
from mipro.lm.redact import redact_url

_TABLES = MetaData()
LOCKS = Table(
    "mipro_locks", _TABLES,
    Column("name", String(512), primary_key=True),
    Column("owner", String(512), nullable=False),
    Column("heartbeat", Float, nullable=False),
)
BUDGETS = Table(
    "mipro_budgets", _TABLES,
    Column("run", String(512), primary_key=True),
    Column("used", Integer, nullable=False),
    Column("max_calls", Integer, nullable=True),
)
_OPEN_ATTEMPTS = 8
HEARTBEAT_INTERVAL = 10
"""Seconds between the heartbeats of a running trial (and of a held lock)."""
GRACE_PERIODS = 3
"""A trial or lock whose last heartbeat is this many intervals old belongs to a dead worker."""
MAX_RETRIES = 3
"""How many times the configuration of a trial whose worker died is tried again."""
_CREATION_LOGGERS = ("optuna.storages._rdb.storage", "optuna.study.study")
"""Where Optuna says at INFO level that a study was created or loaded."""


def storage_url(run_name: str, storage: str | None) -> str:
    """The Optuna storage URL of a run: ``storage`` as given, else ``./mipro_runs/<run>.db``;
    a relative SQLite path is made absolute (so the URL works from any directory)."""
    url = absolute_url(storage or f"sqlite:///{Path('mipro_runs') / f'{run_name}.db'}")
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


def absolute_url(url: str) -> str:
    """``url`` with a relative SQLite path made absolute, and a PostgreSQL URL without a
    driver given psycopg's (the ``[postgres]`` extra) unless psycopg2 is installed; other URLs
    as given."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg2") is None:
        return f"postgresql+psycopg://{rest}"
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and path != ":memory:" and not Path(path).is_absolute():
        return f"sqlite:///{Path(path).resolve()}"
    return url


def worker_id() -> str:
    """This process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_is_dead(owner: str) -> bool:
    """Whether the process ``host:pid`` is known to be gone (only a process on this host can
    be checked; one on another host counts as alive)."""
    host, _, pid = owner.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class RunDatabase:
    """The database of a run: Optuna's storage, and mipro's tables in the same database."""

    url: str
    optuna: optuna.storages.RDBStorage
    heartbeat_interval: int = HEARTBEAT_INTERVAL

    @property
    def grace_period(self) -> int:
        """Seconds after which a silent trial or lock is taken for its dead worker's."""
        return GRACE_PERIODS * self.heartbeat_interval

    @classmethod
    def open(cls, url: str, *, heartbeat_interval: int = HEARTBEAT_INTERVAL) -> RunDatabase:
        """Open the database at ``url``, creating its tables; processes that create the same
        new database at once do not fail (each retries until the tables exist)."""
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                with quiet_optuna(), warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    storage = optuna.storages.RDBStorage(
                        url, engine_kwargs=_engine_options(url),
                        heartbeat_interval=heartbeat_interval,
                        grace_period=GRACE_PERIODS * heartbeat_interval,
                        heartbeat_stale_trial_callback=retry_trial)
                _TABLES.create_all(storage.engine)
                break
            except (IntegrityError, OperationalError):
                if attempt == _OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
            except ImportError as error:
                extra = ": pip install 'mipro[postgres]'" if url.startswith("postgres") else ""
                raise ConfigurationError(
                    f"storage {redact_url(url)}: its database driver is not installed"
                    f"{extra} ({error})") from error
        if storage.engine.name == "sqlite":
            event.listen(storage.engine, "connect", _write_ahead_log)
            storage.engine.dispose()  # connections opened from now on get the pragmas
        return cls(url=url, optuna=storage, heartbeat_interval=heartbeat_interval)

    @property
    def engine(self) -> sqlalchemy.engine.Engine:
        return self.optuna.engine

    def lock(self, name: str) -> StoredLock:
        return StoredLock(self.engine, name, stale_after=self.grace_period)

    def delete_run(self, run_name: str) -> None:
        """Delete the study ``run_name``, its companions (``<run_name>:<suffix>``), its budget
        and its locks."""
        with quiet_optuna():
            for name in optuna.get_all_study_names(storage=self.optuna):
                if name == run_name or name.startswith(f"{run_name}:"):
                    optuna.delete_study(study_name=name, storage=self.optuna)
        with self.engine.begin() as connection:
            connection.execute(delete(BUDGETS).where(BUDGETS.c.run == run_name))
            connection.execute(delete(LOCKS).where(
                LOCKS.c.name.startswith(f"{run_name}:", autoescape=True)))


class StoredLock:
    """A lock held in the run's database, so processes on any machine can share it.

    The holder refreshes its heartbeat every ``stale_after / 4`` seconds. A lock whose holder
    is a dead process on this host, or whose heartbeat is older than ``stale_after`` seconds,
    is taken over (its holder was killed).
    """

    def __init__(self, engine: sqlalchemy.engine.Engine, name: str, *, stale_after: float = 120.0,
                 poll: float = 0.1) -> None:
        self.engine, self.name = engine, name
        self.stale_after, self.poll = stale_after, poll
        self.owner = f"{worker_id()}:{threading.get_ident()}"

    @contextlib.contextmanager
    def held(self, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the lock for the block; ``on_wait(holder)`` is called once if another process
        holds it first."""
        told = False
        while not self._try_take():
            holder = self._break_if_stale()
            if holder is not None and not told and on_wait is not None:
                on_wait(holder)
                told = True
            time.sleep(self.poll)
        stop = threading.Event()
        beat = threading.Thread(target=self._beat, args=(stop,), daemon=True)
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()
            with self.engine.begin() as connection:
                connection.execute(delete(LOCKS).where(
                    (LOCKS.c.name == self.name) & (LOCKS.c.owner == self.owner)))

    def _try_take(self) -> bool:
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(LOCKS).values(
                    name=self.name, owner=self.owner, heartbeat=time.time()))
        except IntegrityError:
            return False
        return True

    def _break_if_stale(self) -> str | None:
        """Remove the lock if its holder is gone; the holder, or ``None`` if it was removed."""
        with self.engine.begin() as connection:
            row = connection.execute(select(LOCKS.c.owner, LOCKS.c.heartbeat)
                                     .where(LOCKS.c.name == self.name)).first()
            if row is None:
                return None
            owner, heartbeat = row
            process = owner.rpartition(":")[0]
            if owner_is_dead(process) or time.time() - heartbeat > self.stale_after:
                connection.execute(delete(LOCKS).where(
                    (LOCKS.c.name == self.name) & (LOCKS.c.owner == owner)
                    & (LOCKS.c.heartbeat == heartbeat)))
                return None
            return str(process)

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(self.stale_after / 4):
            with self.engine.begin() as connection:
                connection.execute(LOCKS.update()
                                   .where((LOCKS.c.name == self.name) & (LOCKS.c.owner == self.owner))
                                   .values(heartbeat=time.time()))


def retry_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Queue the configuration of the failed ``trial`` to be tried again (at most
    ``MAX_RETRIES`` times), keeping its user attributes (its number among them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)(study, trial)


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
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


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}  # wait for another process's write
    return {}


def _write_ahead_log(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
