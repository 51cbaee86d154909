"""TPE leaves its random phase: the startup trials scale with the trial budget and can be set."""

import optuna
import pytest

from mipro import ConfigurationError
from mipro.optimize import MIPRO
from mipro.optimize.run.presets import resolve_counts, startup_trials
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

TRAIN, VAL = make_examples(40), make_examples(30, start=40)


@pytest.fixture
def guided_trials(monkeypatch):
    """Counts the trials whose configuration TPE's model chose (not its random startup)."""
    calls = []
    model_sample = optuna.samplers.TPESampler._sample

    def counting(self, study, trial, search_space):
        calls.append(trial.number)
        return model_sample(self, study, trial, search_space)

    monkeypatch.setattr(optuna.samplers.TPESampler, "_sample", counting)
    return calls


def run(tmp_path, **settings):
    optimizer = MIPRO(exact_answer, task_lm=SimulatedLM(), seed=0, verbose=False, minibatch_size=5,
                      storage=f"sqlite:///{tmp_path / 'study.db'}", run_name="run", **settings)
    optimizer.compile(SimulatedProgram(), TRAIN, VAL)
    return optimizer


def test_startup_share_is_a_fifth_of_the_trials_between_2_and_10():
    assert [startup_trials(n) for n in (1, 4, 10, 14, 25, 50, 200)] == [2, 2, 2, 3, 5, 10, 10]


@pytest.mark.parametrize("num_trials", [6, 15])
def test_startup_trials_scale_with_num_trials(tmp_path, guided_trials, num_trials):
    optimizer = run(tmp_path, auto=None, num_candidates=3, num_trials=num_trials)
    assert len(optimizer.result.trials) == num_trials
    random_trials = startup_trials(num_trials)
    assert guided_trials == list(range(random_trials, num_trials))


def test_light_run_is_mostly_model_guided(tmp_path, guided_trials):
    optimizer = run(tmp_path, auto="light")
    num_trials = resolve_counts("light", 2, None, None).num_trials
    assert len(optimizer.result.trials) == num_trials == 14
    assert len(guided_trials) == num_trials - 3  # 3 random trials, 11 chosen by the model


def test_n_startup_trials_can_be_set(tmp_path, guided_trials):
    run(tmp_path, auto=None, num_candidates=3, num_trials=6, n_startup_trials=4)
    assert guided_trials == [4, 5]
    with pytest.raises(ConfigurationError, match="n_startup_trials must be >= 0 or None, got -1"):
        MIPRO(exact_answer, n_startup_trials=-1)
