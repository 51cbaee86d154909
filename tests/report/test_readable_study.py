"""A run's study is readable without mipro, and ``load_run`` reads it back."""

import optuna
import pytest

from mipro import ConfigurationError, load_run
from mipro.optimize.run.storage import storage_url


def test_the_study_names_its_objective_and_stores_what_each_trial_tried(finished_run):
    storage, name, optimizer, _ = finished_run
    study = optuna.load_study(study_name=name, storage=storage)
    assert study.metric_names == ["minibatch score"]
    candidates = optimizer.result.candidates
    for trial in study.trials:
        for predictor, options in candidates.predictors.items():
            index = trial.params[f"{predictor}.instruction"]
            assert trial.user_attrs[f"{predictor}: instruction"] == options.instructions[index]
            demos = trial.params[f"{predictor}.demos"]
            summary = trial.user_attrs[f"{predictor}: demos"]
            assert summary.startswith(f"set {demos}: {len(options.demo_sets[demos])} demos")


def test_the_candidates_are_a_json_object_in_the_study(finished_run):
    storage, name, optimizer, _ = finished_run
    stored = optuna.load_study(study_name=name, storage=storage).user_attrs["candidates"]
    assert isinstance(stored, dict)  # not JSON in a JSON string
    assert stored == optimizer.result.candidates.as_dict()
    first = next(iter(stored.values()))
    assert first["instructions"][0] == "Given the fields `question`, produce the fields `hint`."


def test_the_candidates_note_marks_the_winner_and_says_why():
    from mipro.optimize.run.candidates import Candidates, PredictorCandidates
    from mipro.optimize.run.proposals import ProposalRecord
    from mipro.optimize.run.readable import candidates_note

    candidates = Candidates(predictors={"answer": PredictorCandidates(
        instructions=("Answer.", "Answer the\nquestion briefly."),
        demo_sets=((), ({"question": "q1", "answer": "a1"},)),
        proposals=(None, ProposalRecord(tip="simple", form="guidance", trial=2)))})
    before = candidates_note("r", candidates)
    assert "Winner" not in before and "(winner)" not in before
    note = candidates_note("r", candidates, winner={"answer.instruction": 1, "answer.demos": 0},
                           decision="chose it: it beats the program as given")
    assert note.splitlines()[:3] == [
        "# mipro run `r`", "",
        "**Winner**: `answer: i1 d0`. Selection chose it: it beats the program as given."]
    assert "- **0** (the original): Answer." in note
    assert ("- **1** (proposed trial 3, tip 'simple', guidance) **(winner)**: Answer the question "
            "briefly.") in note
    assert "- set 0: 0 demos **(winner)**" in note
    assert "- set 1: 1 demos: question=q1 answer=a1" in note


def test_full_scores_and_the_winner_are_marked_on_the_trials(finished_run):
    storage, name, optimizer, _ = finished_run
    study = optuna.load_study(study_name=name, storage=storage)
    result = optimizer.result
    scores = {tuple(sorted(e.configuration.items())): e.score for e in result.full_evaluations}
    with_full = [t for t in study.trials if "full score" in t.user_attrs]
    assert with_full
    for trial in with_full:
        assert trial.user_attrs["full score"] == scores[tuple(sorted(trial.params.items()))]
    winners = [t for t in study.trials if t.user_attrs.get("winner")]
    assert winners and all(t.params == result.best_configuration for t in winners)
    assert study.user_attrs["winner"]["score"] == result.best_score
    assert study.user_attrs["winner"]["trials"] == [t.number for t in winners]


def test_load_run_gives_back_the_result_without_an_lm(finished_run):
    storage, name, optimizer, _ = finished_run
    run = load_run(name, storage)
    result = optimizer.result
    assert run.finished and run.result is not None
    assert run.winner.configuration == result.best_configuration
    assert run.result.best_score == result.best_score
    assert run.result.baseline_score == result.baseline_score
    assert run.trials == result.trials and run.full_evaluations == result.full_evaluations
    assert run.usage.task_lm.calls == result.usage.task_lm.calls > 0
    assert run.candidates == result.candidates
    assert run.settings["optimizer"] == "MIPRO"


def test_load_run_reads_the_selection_and_its_held_out_scores_back_from_the_study(finished_run):
    storage, name, optimizer, _ = finished_run
    run = load_run(name, storage)
    selection = optimizer.result.selection
    assert run.result.selection == selection and selection.contenders
    size = selection.examples.size
    reference = run.held_out(run.baseline().configuration)
    assert len(reference) == size
    assert sum(reference) / size == pytest.approx(selection.baseline_holdout_score)
    for contender in selection.contenders:
        scores = run.held_out(contender.configuration)
        assert sum(scores) / size == pytest.approx(contender.holdout_score)
        better, worse, tied = run.against_baseline(contender.configuration)
        assert better + worse + tied == size
        assert (better - worse) / size == pytest.approx(contender.difference)  # 0/1 scores
    tested = [run.baseline().configuration] + [c.configuration for c in selection.contenders]
    untested = [e.configuration for e in run.full_evaluations if e.configuration not in tested]
    assert untested and all(run.held_out(c) is None for c in untested)
    assert run.against_baseline(untested[0]) is None


def test_load_run_names_what_is_there_when_the_run_is_missing(finished_run, tmp_path):
    storage, name, _, _ = finished_run
    with pytest.raises(ConfigurationError, match="no run 'other'.*holds: demo"):
        load_run("other", storage)
    with pytest.raises(ConfigurationError, match="no run storage at"):
        load_run("demo", f"sqlite:///{tmp_path / 'none.db'}")


def test_the_storage_url_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert storage_url("r", None) == f"sqlite:///{tmp_path / 'mipro_runs' / 'r.db'}"
    assert storage_url("r", "sqlite:///x/y.db") == f"sqlite:///{tmp_path / 'x' / 'y.db'}"


def test_callbacks_see_every_trial_and_full_evaluation(finished_run):
    _, name, optimizer, callback = finished_run
    result = optimizer.result
    assert [e.trial for e in callback.trials] == list(result.trials)
    assert all(e.run_name == name and e.num_trials == 12 for e in callback.trials)
    assert [e.evaluation for e in callback.full_evaluations] == list(result.full_evaluations)
    best = [e.is_best for e in callback.full_evaluations]
    assert best[0] is True  # the baseline is the best when it is the only one
    last_best = max(i for i, flag in enumerate(best) if flag)
    best_searched = max(e.score for e in result.full_evaluations)
    assert callback.full_evaluations[last_best].evaluation.score == best_searched
    leader = callback.full_evaluations[last_best]
    for predictor, options in result.candidates.predictors.items():
        index = leader.evaluation.configuration[f"{predictor}.instruction"]
        assert leader.instructions[predictor] == options.instructions[index]


def test_show_prints_the_winner_against_the_original(finished_run):
    from rich.console import Console

    from mipro.optimize.run.candidates import describe_configuration
    from mipro.report import show_run

    storage, name, optimizer, _ = finished_run
    console = Console(record=True, width=400)
    show_run(load_run(name, storage), console)
    text = console.export_text()
    result = optimizer.result
    assert f"Winner {result.best_score:.3f}" in text
    assert f"the program as given {result.baseline_score:.3f}" in text
    for predictor, options in result.candidates.predictors.items():
        assert options.instructions[result.best_configuration[f"{predictor}.instruction"]] in text
    assert f"optuna-dashboard {storage}" in text
    selection = result.selection
    assert f"Selection at 84% confidence: {selection.reason}" in text
    assert f"Held-out comparison ({selection.examples.size} examples)" in text
    run = load_run(name, storage)
    for contender in selection.contenders:
        better, worse, tied = run.against_baseline(contender.configuration)
        row = next(line for line in text.splitlines()
                   if f" {describe_configuration(contender.configuration)} " in line)
        assert (f" {contender.holdout_score:.3f} " in row and f" {better}/{worse}/{tied} " in row
                and f" {contender.lower_bound:+.3f} " in row)
    rows = {cells[0]: cells[1:] for line in text.splitlines()
            if len(cells := [c.strip() for c in line.strip("│ ").split("│")]) == 7}
    for stage, spent in result.usage.stages.items():
        assert rows[stage][:4] == [str(spent.calls), str(spent.cache_hits),
                                   str(spent.prompt_tokens), str(spent.completion_tokens)]


def test_a_run_stopped_before_selecting_loads_and_reports_without_a_winner(tmp_path):
    from mipro import MIPRO
    from mipro.report import write_report
    from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optimizer = MIPRO(exact_answer, task_lm=SimulatedLM(), run_name="short", verbose=False,
                      auto=None, num_candidates=4, num_trials=12, minibatch_size=20,
                      storage=storage, max_lm_calls=30)
    optimizer.compile(SimulatedProgram(), make_examples(60), make_examples(40, start=100))
    run = load_run("short", storage)
    assert not run.finished and run.winner is None and run.usage is None
    page = write_report(run, tmp_path / "short.html").read_text()
    assert "No winner yet" in page and "Stored when the run finishes" in page
