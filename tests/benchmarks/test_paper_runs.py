import json
import os

import pytest

from benchmarks.paper import run_pending
from benchmarks.paper_runs import (
    HarnessSettings,
    RunSpec,
    claimed,
    pending_runs,
    plan_runs,
    run_one,
    write_record,
)
from benchmarks.paper_sizes import size_for
from mipro.tasks import Task
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples


def simulated_task() -> Task:
    return Task(name="simulated", description="two-stage simulated QA",
                make_program=SimulatedProgram, trainset=make_examples(40),
                valset=make_examples(30, start=40), testset=make_examples(30, start=70),
                metric=exact_answer)


def test_runs_are_planned_seed_by_seed():
    specs = plan_runs(["iris", "scone"], ["unoptimized", "mipro"], [0, 1])
    assert [s.stem for s in specs[:4]] == [
        "iris__unoptimized__seed0", "iris__mipro__seed0",
        "scone__unoptimized__seed0", "scone__mipro__seed0"]
    assert {s.seed for s in specs[4:]} == {1}


def test_runs_with_a_record_are_skipped(tmp_path):
    settings = HarnessSettings(tmp_path, "quick")
    specs = plan_runs(["iris"], ["unoptimized", "mipro"], [0, 1])
    write_record(settings.result_path(specs[1]), {"task": "iris"})
    assert pending_runs(specs, settings) == [specs[0], specs[2], specs[3]]
    assert not list(tmp_path.glob("*.partial"))


def test_a_run_records_scores_usage_sizes_and_its_study(tmp_path):
    settings = HarnessSettings(tmp_path, "quick")
    spec = RunSpec("simulated", "mipro", 0)
    record = run_one(spec, simulated_task(), SimulatedLM(), settings)
    saved = json.loads(settings.result_path(spec).read_text())
    assert saved == record
    assert set(saved["scores"]) == {"train", "dev", "test"}
    assert saved["num_examples"] == {"trainset": 40, "train": 4, "dev": 6, "test": 12}
    assert saved["sizes"]["num_trials"] == 4 and saved["size_profile"] == "quick"
    optimization = saved["lm_usage"]["optimization"]
    assert optimization["task_lm"]["calls"] > 0 and optimization["prompt_lm"]["calls"] > 0
    assert saved["lm_usage"]["total"]["calls"] >= saved["lm_usage"]["evaluation"]["calls"] > 0
    assert saved["optimizer_result"]["trials_completed"] == 4
    assert saved["lm"]["model_id"] == "simulated"
    assert saved["wall_seconds"]["total"] >= saved["wall_seconds"]["optimization"]
    assert (tmp_path / "studies" / "simulated__mipro__seed0__quick.db").exists()
    assert (tmp_path / "programs" / "simulated__mipro__seed0.json").exists()


def test_unoptimized_is_only_evaluated(tmp_path):
    settings = HarnessSettings(tmp_path, "quick")
    record = run_one(RunSpec("simulated", "unoptimized", 0), simulated_task(), SimulatedLM(), settings)
    assert record["optimizer_result"] is None and record["study"] is None
    assert record["lm_usage"]["optimization"] == {}
    assert record["lm_usage"]["total"]["calls"] == 2 * (4 + 6 + 12)  # two stages per example


def test_a_crashed_run_is_reported_and_the_next_one_runs(tmp_path):
    settings = HarnessSettings(tmp_path, "quick")
    specs = [RunSpec("simulated", "no_such_optimizer", 0), RunSpec("simulated", "unoptimized", 0)]
    failures = run_pending(specs, settings, SimulatedLM(), load=lambda name: simulated_task())
    assert failures == [specs[0]]
    assert pending_runs(specs, settings) == [specs[0]]


def test_sizes_are_capped_at_the_task_splits():
    size = size_for("hover", "paper", num_predictors=3, train=20, val=15, test=15)
    assert (size.trainset, size.valset, size.testset, size.minibatch_size) == (20, 15, 15, 15)
    unknown = size_for("mine", "quick", num_predictors=1, train=1000, val=1000, test=1000)
    assert unknown == size_for("iris", "quick", num_predictors=1, train=1000, val=1000, test=1000)
    with pytest.raises(ValueError, match="size profile"):
        size_for("iris", "huge", num_predictors=1, train=10, val=10, test=10)


def test_a_run_claimed_by_a_live_process_is_skipped(tmp_path):
    settings = HarnessSettings(tmp_path, "quick")
    spec = RunSpec("simulated", "unoptimized", 0)
    settings.claim_path(spec).parent.mkdir(parents=True)
    settings.claim_path(spec).write_text("1")  # pid 1 is alive
    assert run_pending([spec], settings, SimulatedLM(), load=lambda name: simulated_task()) == []
    assert not settings.result_path(spec).exists()


def test_a_claim_left_by_a_dead_process_is_taken_over(tmp_path):
    settings = HarnessSettings(tmp_path, "quick")
    spec = RunSpec("simulated", "unoptimized", 0)
    settings.claim_path(spec).parent.mkdir(parents=True)
    settings.claim_path(spec).write_text("999999999")
    with claimed(spec, settings) as ours:
        assert ours and settings.claim_path(spec).read_text() == str(os.getpid())
    assert not settings.claim_path(spec).exists()


def test_a_recorded_run_is_not_claimed(tmp_path):
    settings = HarnessSettings(tmp_path, "quick")
    spec = RunSpec("simulated", "unoptimized", 0)
    write_record(settings.result_path(spec), {"task": "simulated"})
    with claimed(spec, settings) as ours:
        assert not ours
