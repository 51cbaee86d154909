import pytest

from benchmarks.reliability import bad_input, fault_run
from mipro import LMRequest, OpenAILM
from mipro.errors import LMTimeoutError, LMUnavailableError, MalformedReplyError, RateLimitError
from mipro.testing.served import Outage, SimulatedServer


def ask(server, **options):
    lm = OpenAILM("simulated", base_url=server.base_url, api_key="not-needed",
                  prompt_format="completion", structured="none", cache=None, max_retries=0,
                  **{"timeout": 1.0, **options})
    return lm(LMRequest(prompt="Question: q3\n\nAnswer:"))


@pytest.mark.parametrize(("fault", "error"), [
    ("http_500", LMUnavailableError), ("rate_limit", RateLimitError),
    ("hang", LMTimeoutError), ("trickle", LMTimeoutError), ("bad_body", MalformedReplyError),
])
def test_the_served_simulated_lm_injects_each_fault(fault, error):
    server = SimulatedServer(fault=fault, rate=1.0, hang_seconds=2.0)
    with server.running():
        with pytest.raises(error):
            ask(server)
    assert server.faults_injected == server.requests == 1


def test_the_served_simulated_lm_answers_as_the_simulated_lm():
    server = SimulatedServer()
    with server.running():
        assert ask(server).text in (" a3", " wrong")
    assert server.faults_injected == 0


def test_a_bad_input_is_reported_with_its_error_and_the_lm_calls_before_it(tmp_path):
    row = bad_input("nan", lambda: {"metric": lambda example, prediction: float("nan")}, tmp_path)
    assert row["outcome"] == "error" and row["error"] == "MetricError"
    assert "the metric returned nan" in row["message"] and row["lm_calls_before"] > 0
    row = bad_input("no rows", lambda: {"trainset": []}, tmp_path)
    assert row["error"] == "ConfigurationError" and row["lm_calls_before"] == 0


def test_a_fault_run_resumes_after_a_stop_and_checks_every_score(tmp_path):
    run = fault_run("outage", {"outage": Outage(after_requests=100, seconds=None)},
                    max_lm_calls=10_000, attempts=3, folder=tmp_path)
    assert run["completed"] and run["trials"] == 10
    assert run["runs_stopped_by_the_lm"] == 1 and run["mis_scored"] == 0
    assert "nothing answers at" in run["stops"][0]
    # Every request the server received was paid for; so were those the outage refused.
    assert run["requests_not_counted"] == 0
    assert run["requests_counted_by_the_budget"] > run["requests"] > 100


def test_a_fault_run_under_a_budget_that_binds_sends_no_request_beyond_it(tmp_path):
    run = fault_run("http_500", {"fault": "http_500", "rate": 0.3}, max_lm_calls=300,
                    attempts=1, folder=tmp_path)
    assert run["completed"] and run["stopped_by_budget"] and run["mis_scored"] == 0
    assert run["faults_injected"] > 50
    assert run["requests"] <= run["requests_counted_by_the_budget"] <= 300
