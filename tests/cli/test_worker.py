"""``mipro worker``: processes on one or several machines run one study in a shared database.

The acceptance test runs on a real PostgreSQL cluster of its own (``tests/postgres.py``): three
processes run one study, one of them (on another host when the test runs as root: its own UTS
namespace) is SIGKILLed in the middle of a trial, and the run completes with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import sqlalchemy
import pytest
from optuna.trial import TrialState

from mipro.cli import main
from tests.cli.conftest import write_task_file
from tests.postgres import postgres_cluster

ROOT = Path(__file__).resolve().parents[2]
NUM_CANDIDATES, NUM_TRIALS, MAX_LM_CALLS = 4, 12, 2500
LOGGED = """import os
kind = "proposal" if prompt.rstrip().endswith("Proposed Instruction:") else "call"
with open(os.environ["LM_LOG"], "a") as log:
    log.write(kind + "\\n")
time.sleep(0.01)"""
"""Every real call of the task file's LM, as one line of the file $LM_LOG (all processes)."""


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_cluster() as url:
        yield url


def start(folder: Path, *arguments: str, other_host: bool = False) -> subprocess.Popen[str]:
    """``mipro ARGUMENTS`` in ``folder``; on a host of its own (a UTS namespace) if asked and
    possible (root)."""
    command = [sys.executable, "-m", "mipro", *arguments]
    if other_host:
        command = ["unshare", "--uts", "sh", "-c", 'hostname mipro-other-host && exec "$@"', "sh",
                   *command]
    path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(command, cwd=folder, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": path, "LM_LOG": str(folder / "lm.log")})


def running_trial_of(study: optuna.Study, pid: int) -> bool:
    return any(t.user_attrs.get("worker", "").endswith(f":{pid}")
               for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


def test_three_workers_on_postgresql_finish_a_run_when_one_is_killed_mid_trial(tmp_path,
                                                                               postgres_url):
    write_task_file(tmp_path, reply=LOGGED)
    run = ["--program-file", "task.py", "--run-name", "shared", "--storage", postgres_url,
           "--heartbeat", "2", "-q", "--json"]
    first = start(tmp_path, "optimize", *run, "--num-candidates", str(NUM_CANDIDATES),
                  "--num-trials", str(NUM_TRIALS), "--minibatch-size", "10",
                  "--max-lm-calls", str(MAX_LM_CALLS))
    other_host = os.getuid() == 0  # recovered by its heartbeat, not by its pid
    victim = start(tmp_path, "worker", *run, other_host=other_host)
    second = start(tmp_path, "worker", *run)
    study = None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and victim.poll() is None:
        try:
            study = study or optuna.load_study(study_name="shared", storage=postgres_url)
        except KeyError:
            pass  # not created yet
        if study is not None and running_trial_of(study, victim.pid):  # (sh execs it: same pid)
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the victim ended before it ran a trial:\n" + victim.stderr.read()
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    for process, (out, err) in zip((first, second), outputs):
        assert process.returncode == 0, err
    summary = json.loads(outputs[0][0])
    trials = optuna.load_study(study_name="shared", storage=postgres_url).get_trials()
    states = Counter(t.state for t in trials)
    assert states[TrialState.COMPLETE] + states[TrialState.PRUNED] == NUM_TRIALS
    assert states[TrialState.FAIL] >= 1 and set(states) <= {
        TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL}
    retried = {t.system_attrs.get("failed_trial") for t in trials
               if t.state in (TrialState.COMPLETE, TrialState.PRUNED)}
    assert all(t.number in retried for t in trials if t.state == TrialState.FAIL)
    failed_on = {t.user_attrs["worker"].split(":")[0] for t in trials if t.state == TrialState.FAIL}
    assert failed_on == ({"mipro-other-host"} if other_host else failed_on)
    assert len({t.user_attrs["worker"] for t in trials if t.state != TrialState.FAIL}) == 2
    numbers = sorted(t.user_attrs["number"] for t in trials if t.state != TrialState.FAIL)
    assert numbers == list(range(NUM_TRIALS))
    assert summary["trials"] == states[TrialState.COMPLETE]
    calls = Counter((tmp_path / "lm.log").read_text().split())
    assert calls["proposal"] == 2 * (NUM_CANDIDATES - 1)  # the candidates were built once
    assert calls["call"] + calls["proposal"] <= MAX_LM_CALLS  # every process, the killed one too


def test_a_worker_without_a_run_to_join_says_how_to_start_one(tmp_path, capsys, monkeypatch):
    write_task_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = main(["worker", "--program-file", "task.py", "--run-name", "nothing", "--storage",
                 f"sqlite:///{tmp_path / 'runs.db'}", "--wait", "0"])
    assert code == 1
    assert "there is no run 'nothing'" in capsys.readouterr().err


SMALL_IRIS = """
from mipro.tasks import load_task

task = load_task("iris")
program = task.make_program
trainset, valset, metric = task.trainset[:16], task.valset[:12], task.metric
"""


@pytest.mark.real_lm
def test_two_workers_share_a_short_run_on_the_embedded_model(tmp_path, postgres_url):
    (tmp_path / "iris_small.py").write_text(SMALL_IRIS)
    run = ["--program-file", "iris_small.py", "--run-name", "embedded", "--storage", postgres_url,
           "--threads", "1", "-q", "--json"]
    first = start(tmp_path, "optimize", *run, "--num-candidates", "2", "--num-trials", "4",
                  "--minibatch-size", "4", "--max-lm-calls", "200")
    second = start(tmp_path, "worker", *run)
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    for process, (_, err) in zip((first, second), outputs):
        assert process.returncode == 0, err
    trials = optuna.load_study(study_name="embedded", storage=postgres_url).get_trials()
    states = Counter(t.state for t in trials)
    assert states[TrialState.COMPLETE] + states[TrialState.PRUNED] == 4
    # Which process ran which trials is a race (the worker loads the model while the first
    # process proposes); that trials spread over workers is tested with the simulated LM.
    assert all(t.user_attrs.get("worker") for t in trials)
    budget = sqlalchemy.create_engine(postgres_url)
    with budget.connect() as connection:
        used = connection.execute(sqlalchemy.text(
            "select used from mipro_budgets where run = 'embedded'")).scalar_one()
    assert 0 < used <= 200
    budget.dispose()
