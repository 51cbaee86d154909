"""benchmarks/scale.py: the summary pairs each seed's runs with and without pruning."""

import json

from benchmarks.scale import summarize


def record(path, **fields):
    path.write_text(json.dumps({"src_hash": "x", "seconds": 1.0, "completed_trials": 4,
                                **fields}))


def test_the_summary_compares_pruning_only_on_seeds_that_ran_both_ways(tmp_path):
    for seed, on, off in ((0, 60, 100), (1, 80, 100)):
        record(tmp_path / f"on-{seed}.json", task="iris", seed=seed, prune=True,
               lm_calls={"task_lm": on}, test_optimized=0.5)
        record(tmp_path / f"off-{seed}.json", task="iris", seed=seed, prune=False,
               lm_calls={"task_lm": off}, test_optimized=0.7)
    record(tmp_path / "on-2.json", task="iris", seed=2, prune=True, lm_calls={"task_lm": 1},
           test_optimized=0.0)  # its run without pruning has not finished
    record(tmp_path / "server-2.json", task="iris", seed=0, backend="server", jobs=2,
           lm_calls={"task_lm": 50})
    table = summarize(tmp_path)
    iris = table["prune"]["iris"]
    assert iris["seeds"] == [0, 1]
    assert iris["on_mean"] == {"task_lm_calls": 70, "test": 0.5}
    assert abs(iris["calls_saved"] - 0.3) < 1e-9
    assert table["parallel"]["server"]["2"]["lm_calls"] == {"task_lm": 50}
