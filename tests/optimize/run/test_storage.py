"""The run's database: opened by many processes at once, and its locks."""

import subprocess
import sys
import threading
import time

import pytest

from mipro.errors import ConfigurationError
from mipro.optimize.run.storage import LOCKS, RunDatabase, StoredLock, absolute_url


def test_a_lock_admits_one_holder_at_a_time(tmp_path):
    database = RunDatabase.open(f"sqlite:///{tmp_path / 'run.db'}")
    inside, overlaps, waited = [], [], []

    def hold():
        lock = database.lock("run:build")
        with lock.held(on_wait=waited.append):
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.2)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1, 1, 1]
    assert len(waited) == 2  # the two that came second were told who held it


def test_a_lock_held_by_a_dead_process_is_taken_over(tmp_path):
    database = RunDatabase.open(f"sqlite:///{tmp_path / 'run.db'}")
    dead = subprocess.run([sys.executable, "-c", "import os, socket; "
                           "print(f'{socket.gethostname()}:{os.getpid()}')"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with database.engine.begin() as connection:
        connection.execute(LOCKS.insert().values(name="run:build", owner=f"{dead}:1",
                                                 heartbeat=time.time()))
    with database.lock("run:build").held():
        pass


def test_a_lock_whose_holder_stopped_beating_is_taken_over(tmp_path):
    database = RunDatabase.open(f"sqlite:///{tmp_path / 'run.db'}")
    with database.engine.begin() as connection:  # a holder on another machine, silent for long
        connection.execute(LOCKS.insert().values(name="run:build", owner="elsewhere:1:1",
                                                 heartbeat=time.time() - 1000))
    with StoredLock(database.engine, "run:build", stale_after=60).held():
        pass


def test_many_processes_open_one_new_database_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    script = ("import sys, time; from mipro.optimize.run.storage import RunDatabase; "
              "time.sleep(max(0, float(sys.argv[2]) - time.time())); RunDatabase.open(sys.argv[1])")
    start = time.time() + 3
    processes = [subprocess.Popen([sys.executable, "-c", script, url, str(start)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 6, errors


def test_a_postgresql_url_without_a_driver_gets_psycopgs():
    assert absolute_url("postgresql://mipro:secret@db.example/runs") == (
        "postgresql+psycopg://mipro:secret@db.example/runs")
    assert absolute_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


def test_a_storage_whose_driver_is_missing_is_refused_naming_the_url_without_its_password():
    with pytest.raises(ConfigurationError, match=r"mysql://\*\*\*@db.example/runs: its database "
                                                 r"driver is not installed"):
        RunDatabase.open("mysql://mipro:secret@db.example/runs")
