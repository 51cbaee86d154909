"""RunStudy: the run's storage in a real Optuna SQLite study."""

import logging
import os
import subprocess
import sys
import time

import optuna
import pytest

from mipro.errors import ConfigurationError
from mipro.optimize.run.candidates import Candidates, PredictorCandidates
from mipro.optimize.run.grounding import Grounding
from mipro.optimize.run.proposals import ProposalRecord
from mipro.optimize.run.records import FullEvaluation
from mipro.optimize.run.study import RunStudy

FINGERPRINT = {"optimizer": "MIPRO", "seed": 0, "num_candidates": 3}


def open_study(tmp_path, fingerprint=FINGERPRINT, name="run"):
    return RunStudy.open(name, f"sqlite:///{tmp_path / 'study.db'}", fingerprint)


def test_a_run_with_another_fingerprint_is_refused_naming_what_changed(tmp_path):
    open_study(tmp_path)
    open_study(tmp_path)  # the same fingerprint resumes
    with pytest.raises(ConfigurationError, match=r"'run' .*\n  num_candidates: stored 3, now 4\n"):
        open_study(tmp_path, {**FINGERPRINT, "num_candidates": 4})


def test_candidates_and_grounding_come_back_from_storage_as_saved(tmp_path):
    candidates = Candidates(predictors={"answer": PredictorCandidates(
        instructions=("Answer.", "Answer carefully."),
        demo_sets=((), ({"question": "q1", "answer": "a1"},)),
        proposals=(None, ProposalRecord(dataset_summary=True, program_summary=False, demos=True,
                                        history=False, demo_set=1, tip="simple", temperature=0.8,
                                        trial=None)),
    )})
    groundings = {"answer": Grounding(dataset_summary="Questions.", program_summary="A QA program.",
                                      role="Answers.", demo_sets=(({"question": "q1"},),))}
    study = open_study(tmp_path)
    assert study.load_candidates() is None and study.load_groundings() is None
    study.save_candidates(candidates)
    study.save_groundings(groundings)
    reopened = open_study(tmp_path)
    assert reopened.load_candidates() == candidates
    assert reopened.load_groundings() == groundings
    # A study written by an earlier build kept them as JSON in a string; it still reads.
    reopened.study.set_user_attr("candidates", candidates.to_json())
    assert open_study(tmp_path).load_candidates() == candidates


SPACE = {"answer.demos": optuna.distributions.CategoricalDistribution([0, 1, 2, 3])}


def random_draw(number):
    return optuna.samplers.RandomSampler(seed=number)


def test_trials_take_the_smallest_free_number_and_a_cut_off_trial_is_retried_with_its_own(tmp_path):
    study = open_study(tmp_path)
    first = study.add_trial({"answer.instruction": 1}, 0.5, [3, 1])
    trial, number = study.ask_numbered(SPACE, random_draw, limit=10)
    study.tell(trial, 0.25, [0, 2])
    cut_off, cut_number = study.ask_numbered(SPACE, random_draw, limit=10)
    study.abandon(cut_off)  # failed, and its configuration queued to be tried again
    assert (first.number, number, cut_number) == (0, 1, 2)
    assert study.next_trial_number() == 3 and study.count_active_trials() == 3
    retry, retry_number = study.ask_numbered(SPACE, random_draw, limit=10)
    assert retry_number == 2 and retry.params == cut_off.params
    study.tell(retry, 0.75, [2])
    records = open_study(tmp_path).completed_trials()
    assert [(r.number, r.minibatch_ids, r.minibatch_score) for r in records] == [
        (0, (3, 1), 0.5), (1, (0, 2), 0.25), (2, (2,), 0.75)]
    states = [t.state.name for t in study.study.trials]
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE"]


def test_no_trial_is_asked_past_the_limit_of_finished_and_running_trials(tmp_path):
    study = open_study(tmp_path)
    running, _ = study.ask_numbered(SPACE, random_draw, limit=2)
    finished, _ = study.ask_numbered(SPACE, random_draw, limit=2)
    study.tell(finished, 0.5, [0])
    assert study.ask_numbered(SPACE, random_draw, limit=2) is None
    study.abandon(running)  # its retry is asked even though the limit is reached
    assert study.ask_numbered(SPACE, random_draw, limit=2)[1] == 0


def test_a_full_evaluation_is_found_by_its_configuration_in_any_key_order(tmp_path):
    study = open_study(tmp_path)
    record = FullEvaluation(configuration={"a.demos": 1, "a.instruction": 0}, score=0.7, after_trial=4)
    study.add_full_evaluation(record)
    reopened = open_study(tmp_path)
    assert reopened.full_evaluation({"a.instruction": 0, "a.demos": 1}) == record
    assert reopened.has_full_evaluation({"a.instruction": 0, "a.demos": 1})
    assert not reopened.has_full_evaluation({"a.instruction": 1, "a.demos": 1})
    assert reopened.full_evaluations() == [record]


def test_trials_left_running_by_a_dead_worker_are_failed(tmp_path):
    study = open_study(tmp_path)
    live = study.ask({}, optuna.samplers.RandomSampler(seed=0))  # this process: alive
    dead = study.ask({}, optuna.samplers.RandomSampler(seed=0))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = os.uname().nodename
    dead.set_user_attr("worker", f"{host}:{gone}")
    assert study.fail_stale_trials() == 1
    states = {t.number: t.state.name for t in study.study.trials}
    assert states == {live.number: "RUNNING", dead.number: "FAIL", 2: "WAITING"}  # its retry


def test_a_trial_whose_heartbeat_stopped_is_failed_and_retried_from_any_host(tmp_path):
    study = RunStudy.open("run", f"sqlite:///{tmp_path / 'study.db'}", FINGERPRINT,
                          heartbeat_interval=1)
    trial, number = study.ask_numbered(SPACE, random_draw, limit=10)
    trial.set_user_attr("worker", "another-machine:1")  # no pid this host can check
    assert study.running_trials() == 1  # its heartbeat is fresh
    time.sleep(4.5)  # more than three heartbeat intervals of silence (SQLite counts seconds)
    assert study.running_trials() == 0 and study.queued_trials() == 1
    retry, retry_number = study.ask_numbered(SPACE, random_draw, limit=10)
    assert (retry_number, retry.params) == (number, trial.params)


def test_a_running_trial_beats_its_heartbeat_while_it_is_scored(tmp_path):
    study = RunStudy.open("run", f"sqlite:///{tmp_path / 'study.db'}", FINGERPRINT,
                          heartbeat_interval=1)
    trial, _ = study.ask_numbered(SPACE, random_draw, limit=10)
    trial.set_user_attr("worker", "another-machine:1")
    with study.heartbeat(trial):
        time.sleep(4)
        assert study.running_trials() == 1


def test_opening_a_study_leaves_the_process_logging_as_it_was(tmp_path):
    optuna_logger = logging.getLogger("optuna")
    before = (optuna.logging.get_verbosity(), optuna_logger.level, list(optuna_logger.filters))
    open_study(tmp_path, name="quiet")
    open_study(tmp_path, name="quiet").companion("proposals")
    assert (optuna.logging.get_verbosity(), optuna_logger.level, list(optuna_logger.filters)) == before


def test_a_trial_another_worker_took_for_dead_drops_its_score_and_is_queued_once(tmp_path):
    study = open_study(tmp_path)
    trial, number = study.ask_numbered(SPACE, random_draw, limit=10)
    study.study.tell(trial.number, state=optuna.trial.TrialState.FAIL)  # as by a stale heartbeat
    study.tell(trial, 0.5, [0])  # its worker was alive after all: nothing is written
    study.abandon(trial)  # nor queued a second time
    states = [t.state.name for t in study.study.trials]
    assert states == ["FAIL"] and study.completed_trials() == []
