"""CallBudget and BudgetedLM: a hard cap on real LM calls, shared by every LM of a run."""

import pytest

from mipro.errors import BudgetExhausted
from mipro.lm.base import LMRequest
from mipro.lm.cache import SQLiteCache
from mipro.optimize.run.budget import BudgetedLM, CallBudget
from mipro.testing import ScriptedLM


def request(text="hello"):
    return LMRequest(prompt=text, max_tokens=4)


def test_the_call_beyond_the_cap_raises_and_reaches_no_lm():
    lm = ScriptedLM(lambda r: "ok")
    budgeted = BudgetedLM(lm, CallBudget(2))
    budgeted(request("a")), budgeted(request("b"))
    with pytest.raises(BudgetExhausted, match="budget of 2 LM calls is spent"):
        budgeted(request("c"))
    assert len(lm.requests) == 2


def test_two_lms_share_one_budget_and_report_their_usage_apart():
    budget = CallBudget(3)
    task, prompt = BudgetedLM(ScriptedLM(lambda r: "ok"), budget), BudgetedLM(ScriptedLM(lambda r: "ok"), budget)
    task(request("a")), task(request("b")), prompt(request("c"))
    with pytest.raises(BudgetExhausted):
        prompt(request("d"))
    assert (task.usage.calls, prompt.usage.calls, budget.used) == (2, 1, 3)


def test_cache_hits_are_free(tmp_path):
    lm = ScriptedLM(lambda r: "ok", cache=SQLiteCache(tmp_path / "cache.db"))
    budgeted = BudgetedLM(lm, CallBudget(2))
    for _ in range(5):
        assert budgeted(request()).text == "ok"
    snapshot = budgeted.usage.snapshot()
    assert (snapshot.calls, snapshot.cache_hits, budgeted.budget.used) == (1, 4, 1)


def test_a_failed_call_still_counts_against_the_budget():
    def fail(_):
        raise TimeoutError("server gone")

    budgeted = BudgetedLM(ScriptedLM(fail), CallBudget(5))
    with pytest.raises(TimeoutError):
        budgeted(request())
    assert budgeted.budget.used == 1 and budgeted.usage.snapshot().errors == 1


def test_no_cap_counts_without_limit():
    budgeted = BudgetedLM(ScriptedLM(lambda r: "ok"), CallBudget(None))
    for index in range(20):
        budgeted(request(str(index)))
    assert budgeted.budget.used == 20
