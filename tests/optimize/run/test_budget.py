"""CallBudget and BudgetedLM: a hard cap on real LM calls, shared by every LM of a run."""

import pytest

from mipro.errors import BudgetExhausted, LMUnavailableError
from mipro.lm.base import BaseLM, LMRequest, LMResponse
from mipro.lm.retry import RetryPolicy
from mipro.lm.cache import SQLiteCache
from mipro.optimize.run.budget import BudgetedLM, CallBudget
from mipro.optimize.run.storage import RunDatabase
from mipro.testing import ScriptedLM


def request(text="hello"):
    return LMRequest(prompt=text, max_tokens=4)


@pytest.fixture
def budget(tmp_path):
    """``budget(max_calls)``: the budget of run "run", stored in a fresh SQLite database."""
    database = RunDatabase.open(f"sqlite:///{tmp_path / 'run.db'}")
    return lambda max_calls, run="run": CallBudget(database.engine, run, max_calls)


def test_the_call_beyond_the_cap_raises_and_reaches_no_lm(budget):
    lm = ScriptedLM(lambda r: "ok")
    budgeted = BudgetedLM(lm, budget(2))
    budgeted(request("a")), budgeted(request("b"))
    with pytest.raises(BudgetExhausted, match="budget of 2 LM calls is spent"):
        budgeted(request("c"))
    assert len(lm.requests) == 2


def test_two_lms_share_one_budget_and_report_their_usage_apart(budget):
    shared = budget(3)
    task, prompt = BudgetedLM(ScriptedLM(lambda r: "ok"), shared), BudgetedLM(ScriptedLM(lambda r: "ok"), shared)
    task(request("a")), task(request("b")), prompt(request("c"))
    with pytest.raises(BudgetExhausted):
        prompt(request("d"))
    assert (task.usage.calls, prompt.usage.calls, shared.used) == (2, 1, 3)


def test_cache_hits_are_free(tmp_path, budget):
    lm = ScriptedLM(lambda r: "ok", cache=SQLiteCache(tmp_path / "cache.db"))
    budgeted = BudgetedLM(lm, budget(2))
    for _ in range(5):
        assert budgeted(request()).text == "ok"
    snapshot = budgeted.usage.snapshot()
    assert (snapshot.calls, snapshot.cache_hits, budgeted.budget.used) == (1, 4, 1)


def test_a_failed_call_still_counts_against_the_budget(budget):
    def fail(_):
        raise TimeoutError("server gone")

    budgeted = BudgetedLM(ScriptedLM(fail), budget(5))
    with pytest.raises(TimeoutError):
        budgeted(request())
    assert budgeted.budget.used == 1 and budgeted.usage.snapshot().errors == 1


def test_no_cap_counts_without_limit(budget):
    budgeted = BudgetedLM(ScriptedLM(lambda r: "ok"), budget(None))
    for index in range(20):
        budgeted(request(str(index)))
    assert budgeted.budget.used == 20


def test_the_budget_is_the_run_s_across_openings_and_its_cap_is_the_latest(budget):
    first = BudgetedLM(ScriptedLM(lambda r: "ok"), budget(3))
    first(request("a")), first(request("b"))
    again = BudgetedLM(ScriptedLM(lambda r: "ok"), budget(3))  # a resumed run, or a second worker
    again(request("c"))
    with pytest.raises(BudgetExhausted):
        again(request("d"))
    raised = budget(5)  # running again with a larger cap continues from what was spent
    assert raised.used == 3
    raised.reserve(), raised.reserve()
    with pytest.raises(BudgetExhausted):
        raised.reserve()
    assert budget(5, run="other").used == 0  # every run has its own count


class Flaky(BaseLM):
    """Replies "ok", except that every third request it sends fails as a server error would."""

    prompt_format = "completion"

    def __init__(self):
        super().__init__(retry_policy=RetryPolicy(max_retries=4, backoff=0))
        self.model_id, self.sent = "flaky", 0

    def _generate(self, request):
        self.sent += 1
        if self.sent % 3 == 0:
            raise LMUnavailableError("HTTP 500 from the server")
        return LMResponse(("ok",))


def test_retries_are_paid_from_the_budget_before_they_are_sent(budget):
    lm = Flaky()
    budgeted = BudgetedLM(lm, budget(30))
    with pytest.raises(BudgetExhausted):
        for index in range(100):
            budgeted(request(str(index)))
    assert lm.sent == 30 and budgeted.budget.used == 30
    usage = budgeted.usage.snapshot()
    # 10 of the 30 requests failed: 9 were retried, and the budget refused the last retry.
    assert (usage.requests, usage.retries, usage.calls) == (30, 9, 20)
