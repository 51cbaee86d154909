"""A run's identity: the fingerprint refuses a resume that is not the same run, and settings are
checked before any LM call."""

import json
import re

import optuna
import pytest

from mipro import ConfigurationError
from mipro.lm.openai_lm import OpenAILM
from mipro.optimize import MIPRO, BayesianBootstrap
from mipro.program import Example
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

TRAIN, VAL = make_examples(30), make_examples(20, start=30)
SETTINGS = dict(auto=None, num_candidates=3, num_trials=3, minibatch_size=8, seed=0, verbose=False)


def compile_run(tmp_path, *, lm=None, metric=exact_answer, program=None, trainset=TRAIN,
                valset=VAL, **kwargs):
    optimizer = MIPRO(metric, task_lm=lm or SimulatedLM(), run_name="run",
                      storage=f"sqlite:///{tmp_path / 'study.db'}", **{**SETTINGS, **kwargs})
    return optimizer, optimizer.compile(program or SimulatedProgram(), trainset, valset)


def edited_metric(example, prediction):
    return prediction.answer.strip() == example.answer


edited_metric.__qualname__ = exact_answer.__qualname__  # the same name, other code
edited_metric.__module__ = exact_answer.__module__


def renamed_metric(example, prediction):
    return exact_answer(example, prediction)


def program_with_instruction(text):
    program = SimulatedProgram()
    program.hint.signature = program.hint.signature.with_instructions(text)
    return program


def program_with_own_lm():
    program = SimulatedProgram()
    program.answer.lm = SimulatedLM(model_id="answer-model")
    return program


RELABELED_VAL = [*VAL[:-1], Example(question=VAL[-1].question, answer="other").with_inputs("question")]
CHANGES = [
    pytest.param(dict(metric=edited_metric), {"metric.source"}, id="metric-code"),
    pytest.param(dict(metric=renamed_metric), {"metric.name", "metric.source"}, id="metric-name"),
    pytest.param(dict(metric_threshold=0.5), {"metric_threshold"}, id="metric_threshold"),
    pytest.param(dict(program=program_with_instruction("Give a hint.")),
                 {"program.predictors.hint.instructions"}, id="program-instruction"),
    pytest.param(dict(program=program_with_own_lm()), {"lms.predictors.answer"}, id="predictor-lm"),
    pytest.param(dict(lm=SimulatedLM(model_id="other")),
                 {"lms.task_lm.model_id", "lms.prompt_lm.model_id"}, id="task-lm"),
    pytest.param(dict(prompt_lm=SimulatedLM(model_id="writer")), {"lms.prompt_lm.model_id"},
                 id="prompt-lm"),
    pytest.param(dict(teacher_lm=SimulatedLM(model_id="teacher")), {"lms.teacher_lm"}, id="teacher-lm"),
    pytest.param(dict(valset=RELABELED_VAL), {"data.valset.sha256"}, id="valset"),
    pytest.param(dict(trainset=TRAIN[:-1]), {"data.trainset.examples", "data.trainset.sha256"},
                 id="trainset"),
    pytest.param(dict(full_eval_every=2), {"full_eval_every"}, id="full_eval_every"),
]


@pytest.mark.parametrize("change,named", CHANGES)
def test_resume_of_a_changed_run_is_refused_naming_each_change(tmp_path, change, named):
    compile_run(tmp_path)
    lm = change.pop("lm", None) or SimulatedLM()
    with pytest.raises(ConfigurationError) as refused:
        compile_run(tmp_path, lm=lm, **change)
    message = str(refused.value)
    listed = set(re.findall(r"^  (\S+): stored", message, flags=re.MULTILINE))
    assert listed == named, message
    assert "another run_name" in message and "fresh=True" in message
    assert lm.usage.calls == 0


def test_a_refused_run_starts_over_with_fresh(tmp_path):
    first, _ = compile_run(tmp_path)
    with pytest.raises(ConfigurationError, match="metric_threshold: stored 1.0, now 0.5"):
        compile_run(tmp_path, metric_threshold=0.5)
    lm = SimulatedLM()
    fresh, _ = compile_run(tmp_path, lm=lm, metric_threshold=0.5, fresh=True)
    assert len(fresh.result.trials) == 3 and lm.usage.calls > 0
    # The stored run is now the new one: resuming it without fresh is allowed.
    again, _ = compile_run(tmp_path, metric_threshold=0.5)
    assert again.result.trials == fresh.result.trials


@pytest.mark.parametrize("setting,match", [
    (dict(seed=1.5), "seed must be an int, got 1.5"),
    (dict(seed="0"), "seed must be an int, got '0'"),
    (dict(seed=True), "seed must be an int, got True"),
    (dict(num_trials=0), "num_trials must be >= 1 or None, got 0"),
    (dict(num_trials=-1), "num_trials must be >= 1 or None, got -1"),
    (dict(num_candidates=0), "num_candidates must be >= 1 or None, got 0"),
    (dict(max_lm_calls=0), "max_lm_calls must be >= 1 or None, got 0"),
    (dict(minibatch_size=2.5), "minibatch_size must be an int, got 2.5"),
    (dict(metric_threshold=float("nan")), "metric_threshold must be a number"),
    (dict(metric_threshold="high"), "metric_threshold must be a number"),
])
def test_bad_settings_are_refused_before_any_lm_call(setting, match):
    lm = SimulatedLM()
    with pytest.raises(ConfigurationError, match=match):
        MIPRO(exact_answer, task_lm=lm, **setting)
    assert lm.usage.calls == 0


def test_an_empty_valset_is_refused_before_any_lm_call(tmp_path):
    lm = SimulatedLM()
    with pytest.raises(ConfigurationError, match="valset is empty"):
        compile_run(tmp_path, lm=lm, valset=[])
    assert lm.usage.calls == 0


@pytest.mark.parametrize("seed", [-1, 42_950, 2**70 + 3])
def test_any_int_seed_runs_the_whole_search(tmp_path, seed):
    optimizer, _ = compile_run(tmp_path, seed=seed)
    assert len(optimizer.result.trials) == 3
    assert not optimizer.result.stopped_by_budget


def test_no_secret_in_an_lm_url_reaches_the_study_or_the_output(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    writer = OpenAILM("writer", base_url="http://user:sk-secret-123@127.0.0.1:9/v1", cache=False)
    # Bayesian bootstrap never calls the prompt LM, but the run's fingerprint names it.
    BayesianBootstrap(exact_answer, task_lm=SimulatedLM(), prompt_lm=writer, run_name="run",
                      storage=url, **{**SETTINGS, "verbose": True}).compile(
        SimulatedProgram(), TRAIN, VAL)
    stored = json.dumps(optuna.load_study(study_name="run", storage=url).user_attrs)
    assert "sk-secret-123" not in stored
    assert "http://127.0.0.1:9/v1" in stored  # the server still identifies the LM
    shown = capsys.readouterr()
    assert "sk-secret-123" not in shown.out + shown.err
