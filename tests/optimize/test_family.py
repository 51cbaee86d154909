"""The optimizer family on the simulated LM: what each searches, how it assigns credit, what it spends."""

import re

import optuna
import pytest

from mipro import ConfigurationError
from mipro.optimize import MIPRO, OPTIMIZERS, BootstrapRandomSearch, MIPROPlusPlus, ModuleOPRO, Optimizer
from mipro.optimize.run.candidates import build_program, configuration_key, demos_param, instruction_param
from mipro.optimize.select import best_full_evaluation
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

TRAIN, VAL = make_examples(60), make_examples(40, start=60)
PREDICTORS = ("hint", "answer")
SETTINGS = dict(auto=None, num_candidates=4, num_trials=8, minibatch_size=10, seed=0, verbose=False)


def run(name, tmp_path, lm, *, run_name="run", **kwargs):
    """``OPTIMIZERS[name]`` with the harness's keyword arguments, compiled on the simulated task."""
    optimizer = OPTIMIZERS[name](exact_answer, task_lm=lm, run_name=run_name,
                                 storage=f"sqlite:///{tmp_path / 'study.db'}", **{**SETTINGS, **kwargs})
    return optimizer, optimizer.compile(SimulatedProgram(), TRAIN, VAL)


def original_instructions():
    return [p.signature.instructions for p in SimulatedProgram().predictors()]


def module_of(param):
    return param.rpartition(".")[0]


def searched(result):
    """(the best search score, the program as given's search score): the search's own view,
    before selection checks it on held-out examples."""
    baseline = next(e.score for e in result.full_evaluations if e.after_trial == -1)
    return best_full_evaluation(result.full_evaluations), baseline


def search_ids(result):
    return tuple(i for i in range(len(VAL)) if i not in result.selection.holdout_ids)


def held_out_scorings(result):
    """The configurations selection scored on the held-out examples (the program as given first)."""
    return [configuration_key(result.candidates.baseline())] + [
        configuration_key(c.configuration) for c in result.selection.contenders]


@pytest.mark.parametrize("name", ["mipro_0shot", "mipro++_0shot", "opro", "opro_grounded"])
def test_zero_shot_optimizers_never_put_demos_in_the_final_program(tmp_path, name):
    lm = SimulatedLM()
    optimizer, program = run(name, tmp_path, lm)
    assert all(p.demos == [] for p in program.predictors())
    assert all(c.demo_sets == ((),) for c in optimizer.result.candidates.predictors.values())
    assert not any(param.endswith(".demos") for t in optimizer.result.trials for param in t.configuration)
    # Instructions are what they optimize; bootstrapped demos may only ground the proposer.
    best, _ = searched(optimizer.result)
    assert any(best.configuration[instruction_param(name)] != 0 for name in PREDICTORS)
    grounded = name != "opro"
    assert any("Task Demos:" in prompt for prompt in lm.proposer_prompts) == grounded


@pytest.mark.parametrize("name,options", [("bootstrap_random_search", {}), ("bayesian_bootstrap", {}),
                                          ("bayesian_bootstrap", {"credit_assignment": "greedy"})])
def test_demo_only_optimizers_never_change_instructions(tmp_path, name, options):
    lm = SimulatedLM()
    optimizer, program = run(name, tmp_path, lm, **options)
    assert [p.signature.instructions for p in program.predictors()] == original_instructions()
    assert all(len(c.instructions) == 1 for c in optimizer.result.candidates.predictors.values())
    assert lm.proposer_prompts == [] and optimizer.result.usage.prompt_lm.calls == 0
    best, baseline = searched(optimizer.result)
    assert best.score > baseline
    assert any(p.demos for p in build_program(SimulatedProgram(), optimizer.result.candidates,
                                              best.configuration).predictors())


def test_bootstrap_random_search_scores_each_demo_set_on_all_search_examples(tmp_path):
    optimizer, _ = run("bootstrap_random_search", tmp_path, SimulatedLM(), num_candidates=5)
    result = optimizer.result
    assert [t.configuration for t in result.trials] == [
        {demos_param(name): k for name in PREDICTORS} for k in (1, 2, 3, 4)]
    assert all(t.minibatch_ids == search_ids(result) for t in result.trials)
    scores = {e.configuration[demos_param("hint")]: e.score for e in result.full_evaluations}
    assert sorted(scores) == [0, 1, 2, 3, 4]  # candidate 0 is the program as given
    assert [t.minibatch_score for t in result.trials] == [scores[k] for k in (1, 2, 3, 4)]
    assert [c.search_score for c in result.selection.contenders] == sorted(
        (scores[k] for k in (1, 2, 3, 4) if scores[k] >= scores[0]), reverse=True)[:len(result.selection.contenders)]
    held_out = len(result.selection.holdout_ids)
    # The whole bootstrap budget (few runs pass here: 4 runs per traced demo, 4 x 4 x 3 sets),
    # then 5 full evaluations on the search's examples, then selection on the held-out ones and
    # the unseen training examples.
    compared = result.selection.examples.size
    assert result.usage.task_lm.calls == 2 * (48 + 5 * (len(VAL) - held_out)
                                              + compared * len(held_out_scorings(result)))


@pytest.mark.parametrize("grounded", [False, True])
def test_opro_proposer_sees_earlier_instructions_with_their_scores(tmp_path, grounded):
    lm = SimulatedLM()
    optimizer, _ = run("opro_grounded" if grounded else "opro", tmp_path, lm, num_trials=4)
    result = optimizer.result
    prompts = lm.proposer_prompts[-2 * 4:]  # trial t proposes for hint, then answer
    for name_index, name in enumerate(PREDICTORS):
        options = result.candidates.predictors[name]
        last = prompts[2 * 3 + name_index]
        shown = re.findall(r"Instruction: (.*) \| Score: ([\d.]+)", last)
        # Everything tried before trial 3: the original (with the baseline's full score) and
        # the proposals of trials 0-2 (with the minibatch score of the configuration using it).
        expected = {options.instructions[0]: searched(result)[1]}
        for trial in result.trials[:3]:
            expected[options.instructions[trial.configuration[instruction_param(name)]]] = trial.minibatch_score
        assert {text: float(score) for text, score in shown} == {
            text: round(score, 2) for text, score in expected.items()}
        assert [float(s) for _, s in shown] == sorted(float(s) for _, s in shown)  # best last
        for label in ("Dataset Description:", "Program Description:", "Task Demos:"):
            assert (label in last) == grounded
    assert "Previous Instructions:" in prompts[0] and len(re.findall("Score:", prompts[0])) == 1


def test_mipro_plus_plus_credits_scores_to_its_proposal_settings_and_reports_importances(tmp_path):
    lm = SimulatedLM()
    optimizer, _ = run("mipro++", tmp_path, lm)
    result = optimizer.result
    proposals = optuna.load_study(study_name=result.proposal_model.study_name,
                                  storage=f"sqlite:///{tmp_path / 'study.db'}")
    done = [t for t in proposals.trials if t.state.name == "COMPLETE"]
    assert len(done) == len(result.trials) == 8
    for trial, proposal in zip(result.trials, done):
        assert proposal.value == trial.minibatch_score  # the score is credited to the choices
        assert proposal.user_attrs["run_trial"] == trial.number
        for name in PREDICTORS:
            options = result.candidates.predictors[name]
            record = options.proposals[trial.configuration[instruction_param(name)]]
            for key in ("dataset_summary", "program_summary", "tip", "temperature"):
                assert getattr(record, key) == proposal.params[f"{name}.{key}"]
            assert trial.configuration[demos_param(name)] == proposal.params[f"{name}.demos"]
    for options in result.candidates.predictors.values():
        assert len(options.proposals) == len(options.instructions)
        assert all(record.trial >= 0 for record in options.proposals[1:])
    # What the proposer was shown follows the sampled hyperparameters.
    for index, proposal in enumerate(done):
        prompt = lm.proposer_prompts[-2 * 8 + 2 * index]
        assert ("Dataset Description:" in prompt) == proposal.params["hint.dataset_summary"]
        assert ("Program Description:" in prompt) == proposal.params["hint.program_summary"]
    importances = result.proposal_model.importances
    assert set(importances) == set(done[0].params)
    assert {"hint.tip", "hint.temperature", "hint.demo_set", "answer.dataset_summary"} <= set(importances)
    assert sum(importances.values()) == pytest.approx(1.0, abs=1e-3)


def test_greedy_credit_assignment_changes_one_module_per_step(tmp_path):
    optimizer, _ = run("mipro", tmp_path, SimulatedLM(), credit_assignment="greedy", num_trials=10)
    trials = optimizer.result.trials
    assert len(trials) == 10 and len({t.minibatch_ids for t in trials}) == 1  # paired comparisons
    assert set(trials[0].configuration.values()) == {0}  # the program as given comes first
    kept, kept_changes = trials[0], 0
    for step, trial in enumerate(trials[1:], start=1):
        changed = {module_of(p) for p, v in trial.configuration.items() if kept.configuration[p] != v}
        assert changed == {PREDICTORS[(step - 1) % 2]}  # exactly one module, taking turns
        if trial.minibatch_score > kept.minibatch_score:  # a change is kept only if it scores higher
            kept, kept_changes = trial, kept_changes + 1
    assert kept_changes >= 1
    best, baseline = searched(optimizer.result)
    assert best.score > baseline


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_respects_max_lm_calls_and_reports_usage(tmp_path, name):
    lm = SimulatedLM()
    optimizer, program = run(name, tmp_path, lm, max_lm_calls=300)
    assert isinstance(optimizer, Optimizer)
    assert lm.usage.calls <= 300
    usage = optimizer.result.usage
    assert usage.task_lm.calls + usage.prompt_lm.calls == lm.usage.calls
    assert usage.task_lm.prompt_tokens > 0 and usage.task_lm.completion_tokens > 0
    proposes = name not in ("bootstrap_random_search", "bayesian_bootstrap")
    assert (usage.prompt_lm.prompt_tokens > 0) == proposes
    assert optimizer.result.stopped_by_budget
    # The search left room in the budget to score the program as given and the search's best
    # configuration on the held-out examples.
    assert 0 <= optimizer.result.baseline_score <= 1 and optimizer.result.selection.contenders
    assert program.dump_state() == build_program(
        SimulatedProgram(), optimizer.result.candidates, optimizer.result.best_configuration).dump_state()


def test_opro_resumes_from_its_study_as_if_never_stopped(tmp_path):
    first, _ = run("opro_grounded", tmp_path / "a", SimulatedLM(), num_trials=3)
    lm = SimulatedLM()
    resumed, _ = run("opro_grounded", tmp_path / "a", lm, num_trials=6)
    whole, _ = run("opro_grounded", tmp_path / "b", SimulatedLM(), num_trials=6)
    assert resumed.result.trials[:3] == first.result.trials
    assert resumed.result.trials == whole.result.trials
    assert resumed.result.candidates == whole.result.candidates
    # Nothing was redone: no bootstrapping, no summaries, only the 3 new rounds' proposals,
    # their minibatches, the new full evaluations on the 20 search examples, each without the
    # examples its configuration's minibatches in this process already scored, and the new
    # held-out scorings (20 examples).
    assert resumed.result.usage.prompt_lm.calls == 3 * 2
    full_runs = 0
    for evaluation in resumed.result.full_evaluations[len(first.result.full_evaluations):]:
        scored = {i for trial in resumed.result.trials[3:] for i in trial.minibatch_ids
                  if {**evaluation.configuration, **trial.configuration} == evaluation.configuration}
        full_runs += len(search_ids(resumed.result)) - len(scored)
    new_held_out = len(set(held_out_scorings(resumed.result)) - set(held_out_scorings(first.result)))
    assert lm.usage.calls == 3 * 2 + 2 * 3 * 10 + 2 * full_runs + 2 * 20 * new_held_out


def test_mipro_plus_plus_resumes_after_the_budget_ran_out(tmp_path):
    stopped, _ = run("mipro++", tmp_path, SimulatedLM(), max_lm_calls=360)
    assert stopped.result.stopped_by_budget and 0 < len(stopped.result.trials) < 8
    lm = SimulatedLM()
    resumed, _ = run("mipro++", tmp_path, lm)
    assert resumed.result.trials[:len(stopped.result.trials)] == stopped.result.trials
    assert len(resumed.result.trials) == 8 and not resumed.result.stopped_by_budget
    remaining = 8 - len(stopped.result.trials)
    assert resumed.result.usage.prompt_lm.calls == 2 * remaining  # no summaries again
    proposals = optuna.load_study(study_name=resumed.result.proposal_model.study_name,
                                  storage=f"sqlite:///{tmp_path / 'study.db'}")
    states = [t.state.name for t in proposals.trials]
    # The search stopped between trials, leaving the budget's reserve for selection.
    assert states.count("COMPLETE") == 8 and states.count("FAIL") == 0
    assert stopped.result.selection.baseline_holdout_score >= 0


def test_bootstrap_random_search_resumes_without_bootstrapping_again(tmp_path):
    # 64 bootstrapping + 40 baseline + 40 set 1; then 156 calls are left, fewer than the 180 a
    # search leaves (80 for selection, 100 for one more trial and full evaluations)
    stopped, _ = run("bootstrap_random_search", tmp_path, SimulatedLM(), max_lm_calls=300)
    assert len(stopped.result.trials) == 1
    lm = SimulatedLM()
    resumed, _ = run("bootstrap_random_search", tmp_path, lm)
    assert resumed.result.trials[0] == stopped.result.trials[0] and len(resumed.result.trials) == 3
    new_held_out = len(set(held_out_scorings(resumed.result)) - set(held_out_scorings(stopped.result)))
    # only sets 2 and 3, and their selection (on the training examples the stopped run's budget
    # could pay for, stored with it)
    assert resumed.result.selection.train_ids == stopped.result.selection.train_ids
    assert lm.usage.calls == 2 * (20 * 2 + new_held_out * resumed.result.selection.examples.size)


def test_teacher_lm_produces_the_bootstrapped_traces_within_the_budget(tmp_path):
    teacher, student = SimulatedLM(base=0.9), SimulatedLM()
    optimizer, _ = run("bayesian_bootstrap", tmp_path, student, teacher_lm=teacher, num_trials=2)
    usage = optimizer.result.usage
    # Most of the teacher's runs pass, so bootstrapping stops long before its budget of 32 runs.
    assert teacher.usage.calls == usage.teacher_lm.calls
    assert 0 < teacher.usage.calls < 2 * 32 / 2
    assert usage.task_lm.calls == student.usage.calls


def test_family_arguments_are_checked_before_any_lm_call():
    with pytest.raises(ConfigurationError, match="credit_assignment must be one of"):
        MIPRO(exact_answer, credit_assignment="random")
    with pytest.raises(ConfigurationError, match="history_size must be >= 1, got 0"):
        ModuleOPRO(exact_answer, history_size=0)
    with pytest.raises(ConfigurationError, match="temperatures"):
        MIPROPlusPlus(exact_answer, temperatures=())
    with pytest.raises(ConfigurationError, match="max_labeled_demos must be >= 0, got -1"):
        BootstrapRandomSearch(exact_answer, max_labeled_demos=-1)
    with pytest.raises(ConfigurationError, match="tips must be a non-empty subset"):
        MIPROPlusPlus(exact_answer, tips=["shout"])
