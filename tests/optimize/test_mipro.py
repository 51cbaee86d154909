import itertools
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mipro import ConfigurationError
from mipro.optimize import MIPRO
from mipro.optimize.run.candidates import build_program, configuration_key
from mipro.optimize.run.seeds import sub_seed
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples
from tests.optimize import killable
from tests.optimize.killable import run_killable

TRAIN, VAL = make_examples(100), make_examples(100, start=100)


def optimize(tmp_path, lm, *, run_name="run", **kwargs):
    settings = dict(auto=None, num_candidates=5, num_trials=30, minibatch_size=20, seed=0)
    optimizer = MIPRO(exact_answer, task_lm=lm, run_name=run_name, verbose=False,
                      storage=f"sqlite:///{tmp_path / 'study.db'}", **{**settings, **kwargs})
    program = optimizer.compile(SimulatedProgram(), TRAIN, VAL)
    return optimizer, program


def oracle_accuracy(lm, candidates):
    """The best expected accuracy over every configuration of the candidates."""
    space = {}
    for name, options in candidates.predictors.items():
        space[f"{name}.instruction"] = range(len(options.instructions))
        space[f"{name}.demos"] = range(len(options.demo_sets))
    return max(
        lm.expected_accuracy(build_program(SimulatedProgram(), candidates, dict(zip(space, combo))))
        for combo in itertools.product(*space.values())
    )


def test_mipro_reaches_near_the_best_configuration(tmp_path):
    """On average over seeds, the chosen program is within 0.05 of the best configuration of
    its candidates, and its held-out score is far above the program as given."""
    shortfalls, gains = [], []
    for seed in range(6):
        lm = SimulatedLM()
        optimizer, program = optimize(tmp_path, lm, run_name=f"seed{seed}", seed=seed)
        result = optimizer.result
        assert lm.expected_accuracy(SimulatedProgram()) < 0.1
        assert not result.selection.kept_baseline, result.selection.reason
        shortfalls.append(oracle_accuracy(lm, result.candidates) - lm.expected_accuracy(program))
        gains.append(result.best_score - result.baseline_score)
    assert sum(shortfalls) / len(shortfalls) <= 0.05
    assert sum(gains) / len(gains) > 0.3


def test_same_seed_gives_identical_trials_and_result(tmp_path):
    first, _ = optimize(tmp_path / "a", SimulatedLM(), num_trials=12)
    second, _ = optimize(tmp_path / "b", SimulatedLM(), num_trials=12)
    assert first.result.trials == second.result.trials
    assert first.result.best_configuration == second.result.best_configuration
    other, _ = optimize(tmp_path / "c", SimulatedLM(), num_trials=12, seed=1)
    assert [t.configuration for t in other.result.trials] != [t.configuration for t in first.result.trials]


def test_seed_zero_is_a_seed_in_a_fresh_process(tmp_path):
    script = textwrap.dedent(f"""
        from mipro.optimize import MIPRO
        from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples
        optimizer = MIPRO(exact_answer, task_lm=SimulatedLM(), auto=None, num_candidates=4,
                          num_trials=8, minibatch_size=10, seed=0, verbose=False,
                          storage="sqlite:///{tmp_path}/" + __import__("sys").argv[1] + ".db",
                          run_name="r")
        optimizer.compile(SimulatedProgram(), make_examples(60), make_examples(40, start=60))
        print([sorted(t.configuration.items()) for t in optimizer.result.trials])
    """)
    outputs = [subprocess.run([sys.executable, "-c", script, name], capture_output=True,
                              text=True, check=True).stdout for name in ("x", "y")]
    assert outputs[0] == outputs[1] and outputs[0].count("instruction") >= 8


def test_killed_run_resumes_without_redoing_finished_trials(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    settings = dict(num_candidates=5, num_trials=12, minibatch_size=20, full_eval_every=100,
                    train=100, val=100)
    # A worker that SIGKILLs itself in the middle of trial 8's minibatch.
    killed = run_killable(storage, settings, KILL_AT="trial:8:10")
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    import optuna
    study = optuna.load_study(study_name="run", storage=storage)
    before = {t.number: (t.params, t.value) for t in study.trials if t.state.name == "COMPLETE"}
    assert len(before) == 7
    assert [t.state.name for t in study.trials if t.number not in before] == ["RUNNING"]

    optimizer, lm = killable.compile_run(storage, settings)
    after = {t.number: (t.params, t.value) for t in study.trials if t.state.name == "COMPLETE"}
    assert {n: after[n] for n in before} == before
    assert len(after) == 12
    # Nothing finished was redone: no proposals, no bootstrapping, no baseline evaluation;
    # only the 5 remaining trials, the final full evaluation (on the 50 search examples) and
    # selection (on the 50 held-out ones and the unseen training examples) ran, 2 LM calls an
    # example, and no configuration ran an example twice in this process.
    result = optimizer.result
    usage = result.usage
    assert usage.prompt_lm.calls == 0
    final = result.full_evaluations[-1]
    assert final.after_trial == result.trials[-1].number
    assert len(result.full_evaluations) == 2
    held_out = result.selection.holdout_ids
    scored = {(configuration_key(trial.configuration), i)
              for trial in result.trials[7:] for i in trial.minibatch_ids}
    scored |= {(configuration_key(final.configuration), i)
               for i in range(len(VAL)) if i not in held_out}
    for configuration in [result.candidates.baseline()] + [c.configuration for c in result.selection.contenders]:
        scored |= {(configuration_key(configuration), i) for i in held_out}
        scored |= {(configuration_key(configuration), f"train {i}") for i in result.selection.train_ids}
    assert usage.task_lm.calls == 2 * len(scored)
    assert [t.state.name for t in study.trials].count("FAIL") == 1


def test_max_lm_calls_is_never_exceeded(tmp_path):
    lm = SimulatedLM()
    optimizer, program = optimize(tmp_path, lm, max_lm_calls=900)
    assert lm.usage.calls <= 900
    usage = optimizer.result.usage
    assert usage.task_lm.calls + usage.prompt_lm.calls == lm.usage.calls
    assert optimizer.result.stopped_by_budget
    assert len(optimizer.result.trials) < 30
    # The search left room in the budget to score the program as given and the search's best
    # configuration on the held-out examples.
    assert 0 <= optimizer.result.baseline_score <= 1 and optimizer.result.selection.contenders


def test_budget_spent_before_the_search_returns_the_program_as_given(tmp_path):
    lm = SimulatedLM()
    optimizer, program = optimize(tmp_path, lm, max_lm_calls=50)
    assert lm.usage.calls == 50
    assert optimizer.result.stopped_by_budget and optimizer.result.trials == ()
    assert program.dump_state() == SimulatedProgram().dump_state()


def test_unparseable_proposer_reply_is_skipped(tmp_path):
    lm = SimulatedLM(garbled_rollouts={str(sub_seed(0, "propose", "hint", 2))})
    optimizer, _ = optimize(tmp_path, lm, num_trials=6)
    assert optimizer.result.skipped_proposals == 1
    candidates = optimizer.result.candidates.predictors
    assert len(candidates["hint"].instructions) == 4
    assert len(candidates["answer"].instructions) == 5
    assert sum(optimizer.result.usage.prompt_lm.parse_failures.values()) == 1


def test_proposer_is_grounded_in_data_program_demos_and_tip(tmp_path):
    lm = SimulatedLM()
    optimize(tmp_path, lm, num_trials=2)
    prompt = lm.proposer_prompts[0]
    for label in ("Dataset Description:", "Program Description:", "Module Role:",
                  "Task Demos:", "Basic Instruction:"):
        assert label in prompt
    assert any("Tip:" in p for p in lm.proposer_prompts)


def test_resuming_with_other_settings_is_a_clear_error(tmp_path):
    optimize(tmp_path, SimulatedLM(), num_trials=2)
    with pytest.raises(ConfigurationError, match="num_candidates: stored 5, now 6"):
        optimize(tmp_path, SimulatedLM(), num_trials=2, num_candidates=6)


def test_bad_arguments_fail_before_any_lm_call():
    with pytest.raises(ConfigurationError, match="auto must be one of"):
        MIPRO(exact_answer, auto="huge")
    with pytest.raises(ConfigurationError, match="minibatch_size must be >= 1, got 0"):
        MIPRO(exact_answer, minibatch_size=0)
    lm = SimulatedLM()
    with pytest.raises(ConfigurationError, match=r"trainset\[1\]"):
        MIPRO(exact_answer, task_lm=lm, verbose=False).compile(
            SimulatedProgram(), [TRAIN[0], {"question": "q"}])
    assert lm.usage.calls == 0


@pytest.mark.parametrize("seed", [-3, 2**70])
def test_negative_and_huge_seeds_run_like_any_other(tmp_path, seed):
    optimizer, _ = optimize(tmp_path, SimulatedLM(), num_trials=6, seed=seed)
    again, _ = optimize(tmp_path / "again", SimulatedLM(), num_trials=6, seed=seed)
    assert len(optimizer.result.trials) == 6
    assert optimizer.result.trials == again.result.trials
