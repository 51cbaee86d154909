"""What a run reports it spent: per LM role, counted where the calls are made."""

import pytest

from mipro import RunInterruptedError, load_run
from mipro.errors import LMUnavailableError
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


def run(tmp_path, num_trials, task, prompt):
    optimizer = MIPRO(exact_answer, task_lm=task, prompt_lm=prompt, auto=None, num_candidates=3,
                      num_trials=num_trials, minibatch_size=10, verbose=False, run_name="r",
                      storage=f"sqlite:///{tmp_path / 's.db'}")
    optimizer.compile(SimulatedProgram(), make_examples(40), make_examples(30, start=100))
    return optimizer.result


def test_usage_per_stage_adds_up_to_what_each_lm_spent(tmp_path):
    task, prompt = SimulatedLM(), SimulatedLM()  # no cache: every call is a real one
    result = run(tmp_path, 4, task, prompt)
    stages = result.usage.stages
    assert list(stages) == ["bootstrap", "ground", "propose", "search", "select"]
    program_calls = stages["bootstrap"].calls + stages["search"].calls + stages["select"].calls
    assert program_calls == task.usage.calls == result.usage.task_lm.calls
    assert stages["ground"].calls + stages["propose"].calls == prompt.usage.calls > 0
    assert stages["ground"].calls > 0 and stages["propose"].calls > 0
    # Selection scores the program as given and each contender on the held-out examples and
    # the unseen training examples, two predictors a run.
    compared = result.selection.examples.size
    assert stages["select"].calls == 2 * compared * (1 + len(result.selection.contenders))
    for usage in stages.values():
        assert usage.wall_seconds > 0 and usage.seconds <= usage.wall_seconds + 1e-3
        assert (usage.prompt_tokens > 0) == (usage.calls > 0)
    assert stages["search"].prompt_tokens + stages["bootstrap"].prompt_tokens + (
        stages["select"].prompt_tokens) == result.usage.task_lm.prompt_tokens


def test_usage_per_stage_spans_a_resumed_run(tmp_path):
    first_task, first_prompt = SimulatedLM(), SimulatedLM()
    first = run(tmp_path, 3, first_task, first_prompt)
    task, prompt = SimulatedLM(), SimulatedLM()
    resumed = run(tmp_path, 6, task, prompt)
    before, after = first.usage.stages, resumed.usage.stages
    # The candidates were built by the first process: their stages are kept, not redone.
    for stage in ("bootstrap", "ground", "propose"):
        assert after[stage] == before[stage]
    assert prompt.usage.calls == 0
    assert after["search"].calls == before["search"].calls + resumed.usage.task_lm.calls - (
        after["select"].calls - before["select"].calls)
    assert sum(u.calls for u in after.values()) == (
        first_task.usage.calls + first_prompt.usage.calls + task.usage.calls)
    assert after["search"].wall_seconds > before["search"].wall_seconds
    loaded = load_run("r", f"sqlite:///{tmp_path / 's.db'}").usage.stages
    assert list(loaded) == list(after)
    for stage, usage in loaded.items():
        assert (usage.calls, usage.prompt_tokens) == (after[stage].calls, after[stage].prompt_tokens)
        assert usage.wall_seconds == pytest.approx(after[stage].wall_seconds, abs=1e-3)


class FailingLM(SimulatedLM):
    """The simulated LM, unreachable from its ``fail_at``-th call on."""

    def __init__(self, fail_at):
        super().__init__()
        self.fail_at, self.attempts = fail_at, 0

    def _reply(self, prompt, rollout):
        self.attempts += 1
        if self.attempts >= self.fail_at:
            raise LMUnavailableError("the server went away")
        return super()._reply(prompt, rollout)


def test_what_a_stage_spent_before_an_lm_failure_stopped_it_is_kept(tmp_path):
    failing, prompt = FailingLM(fail_at=100), SimulatedLM()
    with pytest.raises(RunInterruptedError, match="during the search"):
        run(tmp_path, 6, failing, prompt)
    task = FailingLM(fail_at=10**9)  # the server is back
    resumed = run(tmp_path, 6, task, SimulatedLM())
    stages = resumed.usage.stages
    assert sum(u.calls for u in stages.values()) == (
        failing.usage.calls + prompt.usage.calls + task.usage.calls)
    assert stages["search"].calls > task.usage.calls - stages["select"].calls  # both processes'
