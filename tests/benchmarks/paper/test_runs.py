import json
import os
import subprocess
import sys

import pytest

from benchmarks.paper.claims import claimed
from benchmarks.paper.records import RunSpec, write_record
from benchmarks.paper.runs import HarnessSettings, pending_runs, plan_runs, run_one, run_pending
from benchmarks.paper.sizes import size_for
from mipro.tasks import Task
from mipro.testing import SimulatedLM, SimulatedProgram, exact_answer, make_examples

SIMULATED_LM = {"model_id": "simulated", "backend": "SimulatedLM", "url": None, "model_file": None}


def simulated_task() -> Task:
    return Task(name="simulated", description="two-stage simulated QA",
                make_program=SimulatedProgram, trainset=make_examples(40),
                valset=make_examples(30, start=40), testset=make_examples(30, start=70),
                metric=exact_answer)


def harness(tmp_path, src_hash="tree-a", *, profile="quick", model_id="simulated",
            max_lm_calls=None):
    return HarnessSettings(tmp_path, profile, src_hash, {**SIMULATED_LM, "model_id": model_id},
                           max_lm_calls)


def recorded(settings, spec):
    """A record as ``run_one`` would write it under ``settings``, with only the run's key."""
    record = {"task": spec.task, "optimizer": spec.optimizer, "seed": spec.seed,
              "src_hash": settings.src_hash, "lm": dict(settings.lm),
              "settings": {"profile": settings.profile, "max_lm_calls": settings.max_lm_calls}}
    write_record(settings.result_path(spec), record)
    return record


def run_simulated(specs, settings, messages=None):
    log = messages.append if messages is not None else (lambda message: None)
    return run_pending(specs, settings, SimulatedLM(), lambda name: simulated_task(), log)


def test_runs_are_planned_seed_by_seed():
    specs = plan_runs(["iris", "scone"], ["unoptimized", "mipro"], [0, 1])
    assert [s.stem for s in specs[:4]] == [
        "iris__unoptimized__seed0", "iris__mipro__seed0",
        "scone__unoptimized__seed0", "scone__mipro__seed0"]
    assert {s.seed for s in specs[4:]} == {1}


def test_runs_with_a_current_record_are_skipped(tmp_path):
    settings = harness(tmp_path)
    specs = plan_runs(["iris"], ["unoptimized", "mipro"], [0, 1])
    recorded(settings, specs[1])
    assert pending_runs(specs, settings) == [specs[0], specs[2], specs[3]]
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("other", [
    dict(src_hash="tree-b"), dict(profile="default"), dict(model_id="another-model"),
    dict(max_lm_calls=500),
])
def test_a_record_from_another_tree_profile_lm_or_cap_is_stale_and_pending(tmp_path, other):
    spec = RunSpec("iris", "mipro", 0)
    recorded(harness(tmp_path, **other), spec)
    assert pending_runs([spec], harness(tmp_path)) == [spec]


def test_a_format_1_record_without_a_source_hash_is_stale(tmp_path):
    spec = RunSpec("iris", "mipro", 0)
    write_record(harness(tmp_path).result_path(spec), {"task": "iris", "optimizer": "mipro",
                                                       "seed": 0, "size_profile": "quick"})
    assert pending_runs([spec], harness(tmp_path)) == [spec]


def test_a_run_records_its_tree_settings_lm_and_every_example_score(tmp_path):
    settings = harness(tmp_path)
    spec = RunSpec("simulated", "mipro", 0)
    record = run_one(spec, simulated_task(), SimulatedLM(), settings)
    saved = json.loads(settings.result_path(spec).read_text())
    assert saved == record
    assert saved["format"] == 2 and saved["src_hash"] == "tree-a"
    assert saved["lm"] == SIMULATED_LM
    run_settings = saved["settings"]
    assert run_settings["num_examples"] == {"trainset": 40, "train": 4, "dev": 6, "test": 12}
    assert run_settings["sizes"]["num_trials"] == 4 and run_settings["profile"] == "quick"
    options = run_settings["optimizer_options"]
    assert (options["num_trials"], options["seed"], options["auto"]) == (4, 0, None)
    for split, count in (("train", 4), ("dev", 6), ("test", 12)):
        scores = saved["example_scores"][split]
        assert len(scores) == count and set(scores) <= {0.0, 1.0}
        assert saved["scores"][split] == pytest.approx(sum(scores) / count)
    assert saved["failures"] == {"train": [], "dev": [], "test": []}
    optimization = saved["lm_usage"]["optimization"]
    assert optimization["task_lm"]["calls"] > 0 and optimization["prompt_lm"]["calls"] > 0
    assert saved["lm_usage"]["total"]["calls"] >= saved["lm_usage"]["evaluation"]["calls"] > 0
    assert saved["optimizer_result"]["trials_completed"] == 4
    assert saved["wall_seconds"]["total"] >= saved["wall_seconds"]["optimization"]
    assert saved["packages"]["optuna"]
    assert (tmp_path / "studies" / "simulated__mipro__seed0__quick.db").exists()
    assert (tmp_path / "programs" / "simulated__mipro__seed0.json").exists()
    assert pending_runs([spec], settings) == []


class FailsOnQ72(SimulatedProgram):
    def forward(self, question):
        if question == "q72":
            raise ValueError("the program cannot handle q72")
        return super().forward(question=question)


def test_failed_examples_are_kept_apart_with_their_error(tmp_path):
    task = simulated_task()
    task = Task(task.name, task.description, FailsOnQ72, task.trainset, task.valset,
                task.testset, task.metric)
    record = run_one(RunSpec("simulated", "unoptimized", 0), task, SimulatedLM(), harness(tmp_path))
    assert record["failures"]["test"] == [
        {"index": 2, "error": "ValueError: the program cannot handle q72"}]
    assert record["example_scores"]["test"][2] == 0.0 and record["failures"]["dev"] == []


def test_unoptimized_is_only_evaluated(tmp_path):
    record = run_one(RunSpec("simulated", "unoptimized", 0), simulated_task(), SimulatedLM(),
                     harness(tmp_path))
    assert record["optimizer_result"] is None and record["study"] is None
    assert record["settings"]["optimizer_options"] is None
    assert record["lm_usage"]["optimization"] == {}
    assert record["lm_usage"]["total"]["calls"] == 2 * (4 + 6 + 12)  # two stages per example


def test_rerunning_replaces_a_stale_record(tmp_path):
    spec = RunSpec("simulated", "unoptimized", 0)
    recorded(harness(tmp_path, "tree-old"), spec)
    settings = harness(tmp_path, "tree-new")
    assert run_simulated(pending_runs([spec], settings), settings) == []
    saved = json.loads(settings.result_path(spec).read_text())
    assert saved["src_hash"] == "tree-new" and len(saved["example_scores"]["test"]) == 12


def test_a_crashed_run_is_reported_and_the_next_one_runs(tmp_path):
    settings = harness(tmp_path)
    specs = [RunSpec("simulated", "no_such_optimizer", 0), RunSpec("simulated", "unoptimized", 0)]
    messages = []
    assert run_simulated(specs, settings, messages) == [specs[0]]
    assert pending_runs(specs, settings) == [specs[0]]
    assert messages == ["1 of 2 runs crashed: simulated__no_such_optimizer__seed0"]


def test_sizes_are_capped_at_the_task_splits():
    size = size_for("hover", "paper", num_predictors=3, train=20, val=15, test=15)
    assert (size.trainset, size.valset, size.testset, size.minibatch_size) == (20, 15, 15, 15)
    unknown = size_for("mine", "quick", num_predictors=1, train=1000, val=1000, test=1000)
    assert unknown == size_for("iris", "quick", num_predictors=1, train=1000, val=1000, test=1000)
    with pytest.raises(ValueError, match="size profile"):
        size_for("iris", "huge", num_predictors=1, train=10, val=10, test=10)


def test_a_run_claimed_by_a_live_holder_is_skipped(tmp_path):
    settings = harness(tmp_path)
    spec = RunSpec("simulated", "unoptimized", 0)
    with claimed(settings.claim_path(spec), lambda: False) as ours:
        assert ours
        assert run_simulated([spec], settings) == []  # another open file: the lock is held
    assert not settings.result_path(spec).exists()


def test_a_claim_held_by_a_process_that_died_is_taken_over(tmp_path):
    settings = harness(tmp_path)
    spec = RunSpec("simulated", "unoptimized", 0)
    claim = settings.claim_path(spec)
    claim.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", str(claim)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with claimed(claim, lambda: False) as ours:
            assert not ours
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
    with claimed(claim, lambda: False) as ours:
        assert ours and claim.read_text() == str(os.getpid())


def test_a_run_recorded_meanwhile_is_not_claimed(tmp_path):
    settings = harness(tmp_path)
    spec = RunSpec("simulated", "unoptimized", 0)
    recorded(settings, spec)
    with claimed(settings.claim_path(spec), lambda: settings.is_recorded(spec)) as ours:
        assert not ours
