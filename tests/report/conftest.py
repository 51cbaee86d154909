"""A finished simulated-LM run, shared by the report tests (about 10 s once per session)."""

import pytest

from mipro import MIPRO, Callback
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples


class RecordingCallback(Callback):
    """Keeps every event it is given."""

    def __init__(self):
        self.trials, self.full_evaluations = [], []

    def on_trial_end(self, event):
        self.trials.append(event)

    def on_full_evaluation(self, event):
        self.full_evaluations.append(event)


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """(storage URL, run name, the optimizer, its recording callback) of a 12-trial run."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('run') / 'study.db'}"
    callback = RecordingCallback()
    optimizer = MIPRO(exact_answer, task_lm=SimulatedLM(), run_name="demo", verbose=False,
                      auto=None, num_candidates=4, num_trials=12, minibatch_size=20,
                      storage=storage, callbacks=[callback])
    optimizer.compile(SimulatedProgram(), make_examples(60), make_examples(40, start=100))
    return storage, "demo", optimizer, callback
