"""Search: the loop every strategy shares (baseline first, full-evaluation schedule, budget)."""

from dataclasses import dataclass

import pytest

from mipro.optimize.run.candidates import Candidates, PredictorCandidates, demos_param
from mipro.optimize.run.budget import BudgetedLM
from mipro.optimize.run.records import TrialRecord
from mipro.optimize.run.study import RunStudy
from mipro.optimize.search import Search, SearchSchedule, SearchStrategy
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

VAL = make_examples(30)
GOLD = ({"question": "q3", "hint": "ok", "answer": "a3"}, {"question": "q6", "hint": "ok", "answer": "a6"})


def candidates(num_demo_sets=4):
    """Demo set k holds k gold demos (better and better); one instruction per predictor."""
    return Candidates(predictors={
        name: PredictorCandidates(instructions=(f"Give the {name}.",),
                                  demo_sets=tuple(GOLD[:k] for k in range(num_demo_sets)),
                                  proposals=(None,))
        for name in ("hint", "answer")})


@dataclass(frozen=True, kw_only=True)
class DemoSetsInTurn(SearchStrategy):
    """Trial t uses demo set t % sets for both predictors; gives up after ``stop_after``."""

    stop_after: int = 100

    def next_trial(self, search):
        number = search.study.next_trial_number()
        if number >= self.stop_after:
            return None
        index = number % len(search.candidates.predictors["hint"].demo_sets)
        configuration = {demos_param(name): index for name in ("hint", "answer")}
        ids = search.minibatch_ids(number)
        return search.study.add_trial(configuration, search.score(configuration, ids), ids)


def make_search(tmp_path, strategy, *, num_trials=6, full_eval_every=3, max_calls=None, seed=0,
                num_demo_sets=4):
    study = RunStudy.open("search", f"sqlite:///{tmp_path / 'study.db'}", {})
    lm = BudgetedLM(SimulatedLM(), study.call_budget(max_calls))
    return Search(strategy=strategy, program=SimulatedProgram(lm), candidates=candidates(num_demo_sets),
                  groundings={}, valset=VAL, metric=exact_answer, study=study,
                  schedule=SearchSchedule(num_trials=num_trials, minibatch_size=5,
                                          full_eval_every=full_eval_every),
                  seed=seed, prompt_lm=lm, display_progress=False), lm


def test_the_baseline_is_fully_evaluated_first_then_the_best_trials_on_schedule(tmp_path):
    search, _ = make_search(tmp_path, DemoSetsInTurn())
    heard = []
    search.on_trial = lambda record, full: heard.append((record.number, full is not None))
    search.run()
    assert len(search.study.completed_trials()) == 6 and not search.stopped_by_budget
    assert heard == [(0, False), (1, False), (2, True), (3, False), (4, False), (5, True)]
    evaluations = search.study.full_evaluations()
    assert evaluations[0].after_trial == -1
    assert evaluations[0].configuration == candidates().baseline()
    assert [e.after_trial for e in evaluations[1:]] == [2, 5, 5]  # and one more at the end


def test_the_search_ends_when_the_strategy_has_nothing_left(tmp_path):
    search, _ = make_search(tmp_path, DemoSetsInTurn(stop_after=2))
    search.run()
    assert [t.number for t in search.study.completed_trials()] == [0, 1]
    assert search.study.full_evaluations()[-1].after_trial == 1  # the last trial's best, at the end


def test_a_spent_budget_stops_the_search_without_raising(tmp_path):
    search, lm = make_search(tmp_path, DemoSetsInTurn(), max_calls=2 * 30 + 2 * 5 * 2)
    search.run()
    # Trial 0 is the program as given, whose full evaluation scored its examples already.
    assert search.stopped_by_budget and len(search.study.completed_trials()) == 3
    assert lm.budget.used == 2 * 30 + 2 * 5 * 2


def test_minibatches_are_seeded_by_the_trial_number(tmp_path):
    search, _ = make_search(tmp_path, DemoSetsInTurn())
    other, _ = make_search(tmp_path / "other", DemoSetsInTurn(), seed=1)
    assert search.minibatch_ids(4) == search.minibatch_ids(4) and len(search.minibatch_ids(4)) == 5
    assert search.minibatch_ids(4) != search.minibatch_ids(5)
    assert [search.minibatch_ids(t) for t in range(5)] != [other.minibatch_ids(t) for t in range(5)]
    assert all(ids == sorted(ids) and len(set(ids)) == 5 for ids in map(search.minibatch_ids, range(20)))


def test_the_best_mean_minibatch_score_not_yet_evaluated_is_evaluated_next(tmp_path):
    search, _ = make_search(tmp_path, DemoSetsInTurn())
    for configuration, score in (({"hint.demos": 1}, 0.2), ({"hint.demos": 2}, 0.9),
                                 ({"hint.demos": 2}, 0.1), ({"hint.demos": 3}, 0.4)):
        search.study.add_trial(configuration, score, [0])
    first = search.best_unevaluated(up_to=3)
    assert first["hint.demos"] == 2  # mean 0.5 beats 0.4 and 0.2
    search.full_evaluate(first, after_trial=3)
    assert search.best_unevaluated(up_to=3)["hint.demos"] == 3
    assert search.best_unevaluated(up_to=0)["hint.demos"] == 1  # only trials 0..up_to count


def test_a_configuration_is_fully_evaluated_once(tmp_path):
    search, lm = make_search(tmp_path, DemoSetsInTurn())
    first = search.full_evaluate({"hint.demos": 2, "answer.demos": 2}, after_trial=0)
    calls = lm.usage.calls
    again, _ = make_search(tmp_path, DemoSetsInTurn())  # another process, the same storage
    assert again.full_evaluate({"answer.demos": 2, "hint.demos": 2}, after_trial=7) == first
    assert lm.usage.calls == calls and first.score > 0


@pytest.mark.parametrize("schedule,valset,runs", [(SearchSchedule(num_trials=10, minibatch_size=5,
                                                                   full_eval_every=5),
                                                    30, 10 * 5 + 30 + 3 * (30 - 5))])
def test_planned_program_runs_count_minibatches_and_full_evaluations(schedule, valset, runs):
    # The baseline's full evaluation, then 3 more, each without the minibatch it already has.
    assert DemoSetsInTurn().planned_program_runs(schedule, valset) == runs


def test_a_strategy_without_next_trial_cannot_be_made():
    with pytest.raises(TypeError):
        SearchStrategy()  # type: ignore[abstract]


def test_trial_records_are_frozen(tmp_path):
    record = TrialRecord(number=0, configuration={}, minibatch_ids=(1,), minibatch_score=0.5)
    with pytest.raises(AttributeError):
        record.number = 1  # type: ignore[misc]
