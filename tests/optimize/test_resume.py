"""Resume is exact: a run killed at any moment and resumed finds what an uninterrupted run finds,
and a finished run run again spends nothing and returns the same program."""

import json
import signal
import time

import pytest

from mipro.optimize import OPTIMIZERS
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples
from tests.optimize import killable
from tests.optimize.killable import run_killable, start_killable

TRAIN, VAL = make_examples(40), make_examples(30, start=40)
SETTINGS = dict(num_candidates=4, num_trials=7, minibatch_size=10, full_eval_every=3, train=40,
                val=30)


@pytest.mark.parametrize("name", ["mipro", "mipro++", "bootstrap_random_search"])
def test_a_finished_run_run_again_makes_no_lm_call_and_returns_the_same_program(tmp_path, name):
    def compile_once(lm):
        optimizer = OPTIMIZERS[name](exact_answer, task_lm=lm, auto=None, num_candidates=4,
                                     num_trials=6, minibatch_size=10, full_eval_every=2, seed=0,
                                     verbose=False, run_name="run",
                                     storage=f"sqlite:///{tmp_path / 'study.db'}")
        program = optimizer.compile(SimulatedProgram(), TRAIN, VAL)
        return optimizer.result, program

    first, program = compile_once(SimulatedLM())
    lm = SimulatedLM()
    second, again = compile_once(lm)
    assert lm.usage.calls == 0
    assert second.full_evaluations == first.full_evaluations
    assert second.best_configuration == first.best_configuration
    assert again.dump_state() == program.dump_state()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The outcome of each optimizer's run that nothing stopped."""
    outcomes = {}

    def outcome(name):
        if name not in outcomes:
            storage = f"sqlite:///{tmp_path_factory.mktemp('uninterrupted') / 'study.db'}"
            done = run_killable(storage, {**SETTINGS, "optimizer": name})
            assert done.returncode == 0, done.stderr
            outcomes[name] = json.loads(done.stdout)
        return outcomes[name]

    return outcome


@pytest.mark.parametrize("name,moment", [
    ("mipro", "metric:5"),                  # bootstrapping demo sets
    ("mipro", "proposal:3"),                # proposing instructions
    ("mipro", "trial:4:5"),                 # scoring trial 4's minibatch
    ("mipro", "full_evaluation:2:3"),       # the full evaluation after trial 3
    ("mipro", "full_evaluation:4:3"),       # the final full evaluation
    ("mipro", "holdout:1:8"),               # selection scoring the program as given
    ("mipro", "holdout:2:8"),               # selection scoring the search's best
    ("mipro++", "trial:5:3"),               # a trial that proposed new instructions
    ("mipro++", "record:4"),                # trial 3 credited to the proposal model, not recorded
])
def test_a_killed_run_resumes_to_what_an_uninterrupted_run_finds(tmp_path, uninterrupted, name,
                                                                 moment):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    settings = {**SETTINGS, "optimizer": name}
    killed = run_killable(storage, settings, KILL_AT=moment)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    optimizer, _ = killable.compile_run(storage, settings)
    resumed = json.loads(json.dumps(killable.outcome(optimizer.result)))
    assert resumed == {key: uninterrupted(name)[key] for key in resumed}


def test_processes_that_start_one_new_run_at_once_build_its_candidates_once(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    settings = {**SETTINGS, "num_trials": 4}
    start_at = time.time() + 4  # after every process has imported mipro
    processes = [start_killable(storage, settings, START_AT=start_at) for _ in range(4)]
    finished = [process.communicate(timeout=300) for process in processes]
    for process, (_, stderr) in zip(processes, finished):
        assert process.returncode == 0 and "Traceback" not in stderr, stderr
    results = [json.loads(stdout) for stdout, _ in finished]
    # One process proposed the instructions; the others waited for them and read them.
    proposals = sorted(result["proposals"] for result in results)
    assert proposals == [0, 0, 0, 2 * (SETTINGS["num_candidates"] - 1)]
    assert len({result["candidates"] for result in results}) == 1


def test_the_budget_spans_a_kill_and_a_resume(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    settings = {**SETTINGS, "num_trials": 30, "max_lm_calls": 500}
    killed = run_killable(storage, settings, KILL_AT="lm:300")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    optimizer, lm = killable.compile_run(storage, settings)
    # The killed process sent 300 calls (it died in the 300th); the resumed run may send the rest
    # (30 trials would need more than 600), less what it leaves unspent for selection.
    assert optimizer.result.stopped_by_budget
    assert 0 < lm.usage.calls <= 500 - 300
    again, lm = killable.compile_run(storage, settings)
    assert lm.usage.calls == 0 and again.result.stopped_by_budget
