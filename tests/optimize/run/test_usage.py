"""What a run reports it spent: per LM role, counted where the calls are made."""

from mipro.optimize import MIPRO
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples


def test_task_lm_calls_are_counted_when_the_predictors_carry_their_own_lm(tmp_path):
    lm = SimulatedLM()
    optimizer = MIPRO(exact_answer, auto=None, num_candidates=3, num_trials=4, minibatch_size=10,
                      verbose=False, storage=f"sqlite:///{tmp_path / 's.db'}")
    optimizer.compile(SimulatedProgram(lm), make_examples(40), make_examples(30, start=100))
    usage = optimizer.result.usage
    # The prompt LM defaults to the task LM, here the program's own: every call of the
    # program is the task LM's, every proposal and summary the prompt LM's.
    assert usage.task_lm.calls > 0 and usage.prompt_lm.calls > 0
    assert usage.task_lm.calls + usage.prompt_lm.calls == lm.usage.calls
    assert usage.task_lm.prompt_tokens > 0
