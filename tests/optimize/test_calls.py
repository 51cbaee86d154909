"""Where a run spends its LM calls: every validation example the user gave, no example scored
twice for one configuration, and a planned count that says so."""

import re

import pytest

from mipro.optimize import MIPRO, BayesianBootstrap
from mipro.optimize.run.candidates import configuration_key
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
    assert optimizer.result.full_evaluations[0].after_trial == -1  # the baseline, on all 160
    assert ("full evaluations on all 160 validation examples not held out (of 320)"
            in capsys.readouterr().err)  # the other 160 are selection's


def test_the_user_may_cap_the_validation_set(tmp_path, capsys):
    val = make_examples(320, start=100)
    _, seen = compile_seen(tmp_path, val, auto="light", num_candidates=2, num_trials=1,
                           minibatch_size=20, max_valset=60)
    assert len(seen & {example.question for example in val}) == 60
    assert "(of 60, capped by max_valset=60)" in capsys.readouterr().err


def test_no_configuration_scores_an_example_twice(tmp_path):
    # Labeled demo sets only, so every task-LM call is the search's (2 calls an example).
    optimizer = BayesianBootstrap(exact_answer, task_lm=SimulatedLM(), credit_assignment="greedy",
                                  max_bootstrapped_demos=0, auto=None, num_candidates=4,
                                  num_trials=6, minibatch_size=20, full_eval_every=2, seed=0,
                                  verbose=False, storage=f"sqlite:///{tmp_path / 's.db'}")
    optimizer.compile(SimulatedProgram(), TRAIN, make_examples(40, start=100))
    result = optimizer.result
    baseline = result.full_evaluations[0].configuration
    # Greedy credit scores the program as given first, on examples its full evaluation scored.
    assert {**baseline, **result.trials[0].configuration} == baseline
    held_out = result.selection.holdout_ids
    searched = [i for i in range(40) if i not in held_out]
    scored = {(configuration_key(e.configuration), i) for e in result.full_evaluations
              for i in searched}
    scored |= {(configuration_key({**baseline, **trial.configuration}), i)
               for trial in result.trials for i in trial.minibatch_ids}
    runs = 20 * len(result.full_evaluations) + 20 * len(result.trials)
    assert len(result.full_evaluations) >= 3 and len(scored) < runs
    for configuration in [baseline] + [c.configuration for c in result.selection.contenders]:
        scored |= {(configuration_key(configuration), i) for i in held_out}
        scored |= {(configuration_key(configuration), f"train {i}") for i in result.selection.train_ids}
    assert result.usage.task_lm.calls == 2 * len(scored)


def test_the_planned_task_calls_bound_what_the_run_spends(tmp_path, capsys):
    optimizer, _ = compile_seen(tmp_path, make_examples(60, start=100), auto=None,
                                num_candidates=4, num_trials=8, minibatch_size=20, verbose=True)
    planned = int(re.search(r"about (\d+) task-LM", capsys.readouterr().err).group(1))
    spent = optimizer.result.usage.task_lm.calls
    assert spent <= planned
