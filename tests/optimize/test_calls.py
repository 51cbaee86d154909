"""Where a run spends its LM calls: every validation example the user gave, and a planned count
that says so."""

import re

import pytest

from mipro.optimize import MIPRO
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

TRAIN = make_examples(100)


def compile_seen(tmp_path, val, **settings):
    """Compile on the simulated task; the optimizer, and the questions its metric scored."""
    seen = set()

    def metric(example, prediction):
        seen.add(example.question)
        return exact_answer(example, prediction)

    optimizer = MIPRO(metric, task_lm=SimulatedLM(), seed=0, run_name="run",
                      storage=f"sqlite:///{tmp_path / 'study.db'}", **settings)
    optimizer.compile(SimulatedProgram(), TRAIN, val)
    return optimizer, seen


@pytest.mark.parametrize("preset", ["light", "medium", "heavy"])
def test_full_evaluations_use_the_whole_validation_set_under_each_preset(tmp_path, preset, capsys):
    val = make_examples(320, start=100)  # more than any preset used to keep (50, 150, 300)
    optimizer, seen = compile_seen(tmp_path, val, auto=preset, num_candidates=2, num_trials=1,
                                   minibatch_size=20)
    assert {example.question for example in val} <= seen
    assert optimizer.result.full_evaluations[0].after_trial == -1  # the baseline, on all 320
    assert "full evaluations on all 320 validation examples" in capsys.readouterr().err


def test_the_user_may_cap_the_validation_set(tmp_path, capsys):
    val = make_examples(320, start=100)
    _, seen = compile_seen(tmp_path, val, auto="light", num_candidates=2, num_trials=1,
                           minibatch_size=20, max_valset=60)
    assert len(seen & {example.question for example in val}) == 60
    assert "all 60 validation examples, capped by max_valset=60" in capsys.readouterr().err


def test_the_planned_task_calls_bound_what_the_run_spends(tmp_path, capsys):
    optimizer, _ = compile_seen(tmp_path, make_examples(60, start=100), auto=None,
                                num_candidates=4, num_trials=8, minibatch_size=20, verbose=True)
    planned = int(re.search(r"about (\d+) task-LM", capsys.readouterr().err).group(1))
    spent = optimizer.result.usage.task_lm.calls
    assert spent <= planned
