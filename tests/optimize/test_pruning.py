"""Early stopping of hopeless trials: the pruner's rule, and what a pruned search does."""

import tempfile
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from mipro.optimize import MIPRO
from mipro.optimize.pruning import PairedPruner
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

TRAIN, VAL = make_examples(40), make_examples(60, start=40)


def judged(reference, scores):
    """Whether ``PairedPruner`` prunes a trial that reported ``scores`` (by example)."""
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    for step, score in scores.items():
        trial.report(score, step=step)
    frozen = study._storage.get_trial(trial._trial_id)
    return PairedPruner(lambda: reference, seed=0).prune(study, frozen)


REFERENCE = {i: 1.0 for i in range(30)}


def test_a_trial_the_reference_beats_on_its_examples_is_pruned():
    assert judged(REFERENCE, {i: 0.0 for i in range(0, 10, 2)})


def test_a_trial_is_not_judged_on_too_few_examples_or_when_it_holds_its_own():
    assert not judged(REFERENCE, {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0})  # fewer than 5 examples
    mixed = dict(enumerate([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0]))
    assert not judged(mixed, dict(enumerate([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0])))  # unsure
    assert not judged({i: 0.5 for i in range(30)}, {i: 0.5 for i in range(10)})  # a tie
    assert not judged(None, {i: 0.0 for i in range(10)})  # nothing fully evaluated yet


def test_only_examples_the_reference_scored_are_compared():
    assert not judged({i: 1.0 for i in range(3)}, {i: 0.0 for i in range(10)})


def run(prune, seed):
    storage = f"sqlite:///{tempfile.mkdtemp()}/study.db"
    lm = SimulatedLM()
    optimizer = MIPRO(exact_answer, task_lm=lm, auto=None, num_candidates=5, num_trials=20,
                      minibatch_size=20, seed=seed, verbose=False, prune=prune, run_name="run",
                      storage=storage)
    optimizer.compile(SimulatedProgram(), TRAIN, VAL)
    return optimizer.result, lm.usage.calls, optuna.load_study(study_name="run", storage=storage)


@pytest.mark.parametrize("seed", [0, 2])
def test_pruned_trials_spend_fewer_calls_are_told_as_pruned_and_never_fully_evaluated(seed):
    result, calls, study = run(True, seed)
    unpruned, unpruned_calls, _ = run(False, seed)
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert pruned and calls < unpruned_calls
    assert all(len(t.intermediate_values) < 20 for t in pruned)  # stopped before the end
    assert Counter(t.state for t in study.trials) == {TrialState.COMPLETE: 20 - len(pruned),
                                                      TrialState.PRUNED: len(pruned)}
    evaluated = [e.configuration for e in result.full_evaluations]
    completed = [{**result.candidates.baseline(), **t.configuration} for t in result.trials
                 if not t.pruned]
    assert sorted(t.number for t in result.trials if t.pruned) == sorted(
        t.user_attrs["number"] for t in pruned)
    assert all(configuration in completed for configuration in evaluated[1:])
    assert result.best_score == unpruned.best_score  # the same final program's score here


def test_a_run_without_pruning_scores_every_trial_on_its_whole_minibatch():
    _, _, study = run(False, 0)
    trials = study.get_trials()
    assert all(t.state == TrialState.COMPLETE and len(t.intermediate_values) == 20
               for t in trials)
