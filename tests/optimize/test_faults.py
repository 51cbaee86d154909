"""Failures are kept apart: an LM failure, a broken metric and the program's own code raising
never become scores; a reply that does not parse is the prompt's failure and scores 0."""

import math

import optuna
import pytest

from mipro import ConfigurationError, EvaluationError, Example
from mipro.errors import LMError, LMUnavailableError, MetricError, RunInterruptedError
from mipro.lm.base import BaseLM, LMRequest, LMResponse
from mipro.lm.retry import RetryPolicy
from mipro.optimize import MIPRO, OPTIMIZERS
from mipro.optimize.run.seeds import sub_seed
from mipro.optimize.select import SelectionSettings, split_holdout
from mipro.testing import ScriptedLM, SimulatedLM, SimulatedProgram, exact_answer, make_examples
from mipro.testing.truth import mis_scored

TRAIN, VAL = make_examples(40), make_examples(30, start=100)
SEARCH_IDS, HOLDOUT_IDS = split_holdout(len(VAL), SelectionSettings(), seed=0)
SETTINGS = dict(auto=None, num_candidates=3, num_trials=6, minibatch_size=10, full_eval_every=3,
                seed=0, verbose=False)


def optimize(tmp_path, lm, metric=exact_answer, program=None, trainset=TRAIN, valset=VAL,
             **kwargs):
    optimizer = MIPRO(metric, task_lm=lm, run_name="run",
                      storage=f"sqlite:///{tmp_path / 'study.db'}", **{**SETTINGS, **kwargs})
    return optimizer, optimizer.compile(program or SimulatedProgram(), trainset, valset)


# The metric is the user's: a broken one stops the run at the first bad value ----------------
@pytest.mark.timeout(120)
def test_metric_that_always_returns_nan_stops_the_run_naming_the_example(tmp_path):
    with pytest.raises(MetricError) as caught:
        optimize(tmp_path, SimulatedLM(), metric=lambda example, prediction: float("nan"))
    message = str(caught.value)
    assert "the metric returned nan" in message and "division by zero" in message
    assert "Example(question='q" in message


def test_metric_that_sometimes_returns_nan_stops_at_that_example(tmp_path):
    def metric(example, prediction):
        return float("nan") if example.question == "q107" else exact_answer(example, prediction)

    with pytest.raises(MetricError) as caught:
        optimize(tmp_path, SimulatedLM(), metric=metric)
    assert "the metric returned nan" in str(caught.value)
    assert "valset[7]: Example(question='q107'" in str(caught.value)


@pytest.mark.parametrize(("returned", "shown"), [(None, "None"), ("yes", "'yes'")])
def test_metric_returning_no_number_stops_the_run(tmp_path, returned, shown):
    with pytest.raises(MetricError, match=f"the metric returned {shown}"):
        optimize(tmp_path, SimulatedLM(), metric=lambda example, prediction: returned)


def test_metric_that_raises_stops_the_run_with_its_error(tmp_path):
    def metric(example, prediction):
        return example.label == prediction.answer  # the data has no "label"

    with pytest.raises(MetricError) as caught:
        optimize(tmp_path, SimulatedLM(), metric=metric)
    assert "the metric raised AttributeError: Example has no field 'label'" in str(caught.value)
    assert isinstance(caught.value.__cause__, AttributeError)


# The program's own code: counted up to max_errors per evaluation, then the run stops --------
class Raising(SimulatedProgram):
    def __init__(self, failing):
        super().__init__()
        self.failing = failing

    def forward(self, question):
        if question in self.failing:
            raise ValueError(f"cannot handle {question}")
        return super().forward(question=question)


def test_program_raising_beyond_the_budget_stops_with_the_failed_examples(tmp_path):
    lm = SimulatedLM()
    failing = {f"q{i}" for i in range(100, 130)}  # every validation example
    with pytest.raises(EvaluationError) as caught:
        optimize(tmp_path, lm, program=Raising(failing), max_errors=4)
    assert len(caught.value.failures) == 5
    assert "more than max_errors=4" in str(caught.value)
    assert "valset[0]: ValueError: cannot handle q100" in str(caught.value)


def test_program_raising_while_bootstrapping_counts_over_all_its_batches(tmp_path):
    with pytest.raises(EvaluationError) as caught:
        optimize(tmp_path, SimulatedLM(), program=Raising({f"q{i}" for i in range(40)}),
                 max_errors=4)
    assert str(caught.value).startswith("the program raised on 5 examples of the trainset while "
                                        "bootstrapping, more than max_errors=4")
    assert len(caught.value.failures) == 5


def test_program_raising_on_every_example_stops_even_within_max_errors(tmp_path):
    with pytest.raises(EvaluationError, match="the program raised on every one of the 15 "
                                              "examples of valset it ran on"):
        optimize(tmp_path, SimulatedLM(), program=Raising({f"q{i}" for i in range(200)}),
                 max_errors=1000, max_bootstrapped_demos=0)


def test_program_raising_within_the_budget_scores_zero_and_is_reported(tmp_path, capsys):
    failing = VAL[SEARCH_IDS[3]].question  # an example the search's full evaluations use
    optimizer, _ = optimize(tmp_path, SimulatedLM(), program=Raising({failing}), verbose=True)
    full = optimizer.result.full_evaluations
    assert full and all(evaluation.num_failed == 1 for evaluation in full)
    assert "The program raised on" in capsys.readouterr().err


# A reply that does not parse is the prompt's failure: 0, counted per predictor -------------
class Unparseable(BaseLM):
    """The simulated LM, except that the answer stage replies with nothing for some questions."""

    prompt_format = "completion"

    def __init__(self, questions):
        super().__init__()
        self.model_id, self.inner, self.questions = "unparseable", SimulatedLM(), questions

    def _generate(self, request: LMRequest) -> LMResponse:
        last = (request.prompt or "").rsplit("---", 1)[-1]
        if request.prompt.endswith("Answer:") and any(f"Question: {q}\n" in last for q in self.questions):
            return LMResponse(("",) * request.n)
        return self.inner(request)


def test_unparseable_replies_score_zero_are_counted_per_predictor_and_do_not_stop(tmp_path, capsys):
    failing = {VAL[SEARCH_IDS[1]].question, VAL[SEARCH_IDS[2]].question}
    optimizer, _ = optimize(tmp_path, Unparseable(failing), max_errors=0, verbose=True)
    result = optimizer.result
    assert len(result.trials) == 6
    assert result.usage.task_lm.parse_failures.get("answer", 0) >= 2
    assert all(evaluation.num_failed == 2 for evaluation in result.full_evaluations)
    assert "Replies that did not parse, each scored 0: answer" in capsys.readouterr().err


# An LM that fails is never a score: the run stops, keeps its finished trials, resumes -------
class Outage(BaseLM):
    """The simulated LM, unreachable from request ``down_from`` on, for ``length`` requests
    (``None``: for good)."""

    prompt_format = "completion"

    def __init__(self, down_from, length=None, garbled_rollouts=()):
        super().__init__()
        self.model_id, self.inner = "simulated", SimulatedLM(garbled_rollouts=garbled_rollouts)
        self.down_from, self.length, self.requests = down_from, length, 0

    def _generate(self, request: LMRequest) -> LMResponse:
        self.requests += 1
        if self.down_from <= self.requests and (self.length is None
                                                or self.requests < self.down_from + self.length):
            raise LMUnavailableError("nothing answers at http://127.0.0.1:9/v1")
        return self.inner(request)


@pytest.mark.parametrize("down_from", [30, 41, 90, 200, 250])  # of 263 (250: selection)
def test_lm_outage_stops_the_run_unscored_and_a_rerun_resumes(tmp_path, down_from):
    with pytest.raises(RunInterruptedError) as caught:
        optimize(tmp_path, Outage(down_from))
    message = str(caught.value)
    assert "nothing answers at http://127.0.0.1:9/v1" in message
    assert "run again with the same run_name to resume" in message
    assert isinstance(caught.value.cause, LMUnavailableError) and caught.value.retryable

    optimizer, _ = optimize(tmp_path, Outage(down_from=math.inf))  # the same LM, back up
    result = optimizer.result
    assert len(result.trials) == 6
    assert mis_scored(result, VAL, TRAIN) == []


class Rejecting(SimulatedLM):
    """The simulated LM behind a server that rejects requests from the 100th on (HTTP 400)."""

    def __init__(self):
        super().__init__()
        self.requests = 0

    def _generate(self, request: LMRequest) -> LMResponse:
        self.requests += 1
        if self.requests >= 100:
            raise LMError("http://127.0.0.1:9/v1 rejected the request with HTTP 400: no model "
                          "named 'simulated'")
        return super()._generate(request)


def test_an_lm_error_that_retrying_cannot_mend_says_to_fix_it_first(tmp_path):
    with pytest.raises(RunInterruptedError) as caught:
        optimize(tmp_path, Rejecting())
    assert not caught.value.retryable
    assert "no model named 'simulated'" in str(caught.value)
    assert "fix that, then run again with the same run_name to resume" in str(caught.value)


class Flaky(SimulatedLM):
    """The simulated LM behind a server whose every 7th request fails with an HTTP 500."""

    def __init__(self):
        super().__init__()
        self.retry_policy = RetryPolicy(max_retries=2, backoff=0)
        self.requests = 0

    def _generate(self, request: LMRequest) -> LMResponse:
        self.requests += 1
        if self.requests % 7 == 0:
            raise LMUnavailableError("HTTP 500 from http://127.0.0.1:9/v1")
        return super()._generate(request)


def test_requests_and_retries_of_an_lm_the_program_carries_are_the_runs_task_lm_usage(tmp_path):
    lm = Flaky()
    optimizer = MIPRO(exact_answer, prompt_lm=SimulatedLM(), run_name="run",
                      storage=f"sqlite:///{tmp_path / 'study.db'}", **SETTINGS)
    optimizer.compile(SimulatedProgram(lm), TRAIN, VAL)  # each predictor carries the LM
    sent, used = lm.usage.snapshot(), optimizer.result.usage.task_lm
    assert sent.retries > 10
    assert (used.requests, used.retries, used.calls) == (sent.requests, sent.retries, sent.calls)


def test_a_trial_a_kill_left_without_its_owner_does_not_shorten_the_resumed_run(tmp_path):
    with pytest.raises(RunInterruptedError):
        optimize(tmp_path, Outage(200))
    # What a SIGKILL between creating a trial and naming its worker leaves: a RUNNING trial
    # that no one owns.
    optuna.load_study(study_name="run", storage=f"sqlite:///{tmp_path / 'study.db'}").ask()
    optimizer, _ = optimize(tmp_path, Outage(down_from=math.inf))
    assert len(optimizer.result.trials) == 6


@pytest.mark.parametrize(("name", "policy"), [("opro", "opro"), ("mipro++", "mipro++")])
def test_proposals_the_search_skipped_are_counted_across_a_stop_and_a_rerun(tmp_path, name, policy):
    garbled = {str(sub_seed(0, policy, "hint", number)) for number in (1, 4)}  # unparseable

    def compile_with(folder, down_from=math.inf):
        optimizer = OPTIMIZERS[name](
            exact_answer, task_lm=Outage(down_from, garbled_rollouts=garbled), run_name="run",
            storage=f"sqlite:///{folder / 'study.db'}", **SETTINGS)
        optimizer.compile(SimulatedProgram(), TRAIN, VAL)
        return optimizer.result

    def counts(result):
        return result.skipped_proposals, result.rejected_proposals

    (tmp_path / "whole").mkdir()
    whole = counts(compile_with(tmp_path / "whole"))
    assert whole[0] >= 2 and whole[1]["unparseable"] == 2
    with pytest.raises(RunInterruptedError):  # stopped between the two skips
        compile_with(tmp_path, down_from=150)
    assert counts(compile_with(tmp_path)) == whole
    assert counts(compile_with(tmp_path)) == whole  # the finished run, run again


def test_short_outage_in_every_stage_never_becomes_a_score(tmp_path):
    """The LM is down for 5 requests at a time, at points spread over the run; each time the run
    stops and the next run resumes, until it completes with every score true."""
    for down_from in [30, 55, 150, 250, 320, 350]:
        try:
            optimizer, _ = optimize(tmp_path, Outage(down_from, length=5))
            break
        except RunInterruptedError:
            continue
    else:
        optimizer, _ = optimize(tmp_path, Outage(down_from=math.inf))
    assert len(optimizer.result.trials) == 6
    assert mis_scored(optimizer.result, VAL, TRAIN) == []
    assert not any(math.isnan(e.score) for e in optimizer.result.full_evaluations)


# Data is checked before any LM call ---------------------------------------------------------
@pytest.mark.parametrize(("rows", "message"), [
    ({"valset": VAL[:2] + [Example(text="q2", answer="a2").with_inputs("text")] + VAL[3:]},
     r"valset\[2\] has no input 'question', which SimulatedProgram.forward needs"),
    ({"valset": VAL[:4] + [Example(question="q4", answer="a4", text="x").with_inputs("question", "text")]},
     r"valset\[4\] marks 'text' as an input, but SimulatedProgram.forward takes only \['question'\]"),
    ({"trainset": TRAIN[:5] + [Example(question="q5").with_inputs("question")] + TRAIN[6:]},
     r"trainset\[5\] has no 'answer', a label that other rows carry"),
    ({"trainset": TRAIN[:3] + [Example(question="q3", answer="a3").with_inputs("answer")]},
     r"trainset\[3\] does not mark 'question' as an input"),
])
def test_rows_missing_a_field_are_rejected_before_any_lm_call(tmp_path, rows, message):
    lm = ScriptedLM([])
    data = {"trainset": TRAIN, "valset": VAL, **rows}
    with pytest.raises(ConfigurationError, match=message):
        optimize(tmp_path, lm, **data)
    assert lm.requests == []


def test_a_bare_predictor_needs_its_signature_inputs(tmp_path):
    from mipro import Predict

    lm = ScriptedLM([])
    rows = [Example(question="q", answer="a").with_inputs("question")] * 4
    with pytest.raises(ConfigurationError, match=r"trainset\[0\] has no input 'context', which "
                                                 r"Predict\('context, question -> answer'\) needs"):
        optimize(tmp_path, lm, program=Predict("context, question -> answer", lm=lm),
                 trainset=rows, valset=rows)
    assert lm.requests == []


def test_overlapping_train_and_validation_sets_are_warned_about(tmp_path):
    with pytest.warns(UserWarning, match="5 of the 30 validation examples also appear in the trainset"):
        optimize(tmp_path, SimulatedLM(), valset=TRAIN[:5] + VAL[5:], num_trials=1)


def test_without_a_valset_the_split_is_said(tmp_path, capsys):
    optimize(tmp_path, SimulatedLM(), valset=None, num_trials=1, verbose=True)
    assert ("No valset given: the 40 training examples were shuffled (seed 0) and split into 20 "
            "to bootstrap demos from and 20 to validate on") in capsys.readouterr().err
