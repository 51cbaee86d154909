"""Parallel trials (``n_jobs``): trials in flight at once in threads share one study without
colliding, full evaluations are not repeated, and the budget holds."""

import threading
import time
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from mipro.errors import ConfigurationError
from mipro.optimize import MIPRO, ModuleOPRO
from mipro.optimize.run.candidates import configuration_key
from mipro.optimize.search import Search
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

TRAIN, VAL = make_examples(40), make_examples(40, start=40)


class SlowLM(SimulatedLM):
    """``SimulatedLM`` that takes a moment per call, so that threads overlap."""

    def _generate(self, request):
        time.sleep(0.002)
        return super()._generate(request)


@pytest.fixture
def evaluations(monkeypatch):
    """How often each configuration was fully evaluated, and the most trial minibatches
    scored at one moment."""
    full, in_flight, most = Counter(), [0], [0]
    lock = threading.Lock()
    evaluate = Search._evaluate

    def counted(search, configuration, ids, what, **options):
        if what == "Full evaluation":
            full[configuration_key({**search.candidates.baseline(), **configuration})] += 1
            return evaluate(search, configuration, ids, what, **options)
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            return evaluate(search, configuration, ids, what, **options)
        finally:
            with lock:
                in_flight[0] -= 1

    monkeypatch.setattr(Search, "_evaluate", counted)
    return full, most


def test_trials_in_flight_at_once_get_distinct_numbers_and_each_full_evaluation_runs_once(
        tmp_path, evaluations):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optimizer = MIPRO(exact_answer, task_lm=SlowLM(), auto=None, num_candidates=4, num_trials=12,
                      minibatch_size=8, full_eval_every=3, n_jobs=4, seed=0, verbose=False,
                      run_name="run", storage=storage)
    optimizer.compile(SimulatedProgram(), TRAIN, VAL)
    result, (full, most_in_flight) = optimizer.result, evaluations
    study = optuna.load_study(study_name="run", storage=storage)
    states = Counter(t.state for t in study.trials)
    assert states[TrialState.COMPLETE] + states[TrialState.PRUNED] == 12 == len(study.trials)
    assert sorted(t.number for t in result.trials) == list(range(12))
    assert most_in_flight[0] > 1  # trials (and held-out evaluations) did run at once
    assert all(count == 1 for count in full.values())  # no configuration scored twice
    assert len(full) == len(result.full_evaluations) >= 1 + 12 // 3
    assert result.selection is not None


def test_a_run_with_trials_in_flight_spends_no_more_than_its_budget(tmp_path):
    lm = SlowLM()
    optimizer = MIPRO(exact_answer, task_lm=lm, auto=None, num_candidates=4, num_trials=40,
                      minibatch_size=8, n_jobs=4, max_lm_calls=700, seed=0, verbose=False,
                      run_name="run", storage=f"sqlite:///{tmp_path / 'study.db'}")
    optimizer.compile(SimulatedProgram(), TRAIN, VAL)
    assert optimizer.result.stopped_by_budget
    assert 0 < lm.usage.calls <= 700


def test_a_search_that_runs_one_trial_at_a_time_refuses_n_jobs():
    with pytest.raises(ConfigurationError, match="n_jobs=2: ModuleOPRO's search"):
        ModuleOPRO(exact_answer, task_lm=SimulatedLM(), n_jobs=2)
