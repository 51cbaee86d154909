"""The search-quality analyses that run no LM: pairing before and after by test example, and
selection's decision at other confidence levels."""

import pytest

from benchmarks.search_quality import compare
from benchmarks.selection_levels import decisions, held_out_differences, summarize


def _record(label, task, seed, scores, search_best=None):
    examples = [{"id": f"t{i}", "score": s, "error": None} for i, s in enumerate(scores)]
    best = search_best if search_best is not None else scores
    return {"label": label, "task": task, "seed": seed,
            "test_examples_optimized": examples,
            "test_examples_search_best": [{"id": f"t{i}", "score": s, "error": None}
                                          for i, s in enumerate(best)]}


def test_compare_pairs_the_same_seed_and_test_example_and_pools_over_tasks():
    records = [
        _record("before", "iris", 0, [1, 0, 0, 0]),
        _record("after", "iris", 0, [1, 1, 1, 0]),
        _record("after", "iris", 1, [0, 0, 0, 0]),  # no before-run of seed 1: left out
        _record("before", "wine", 0, [1, 1]),
        _record("after", "wine", 0, [0, 1], search_best=[1, 1]),
    ]
    returned = compare(records, "after", "before")
    assert returned["iris"]["pairs"] == 4 and returned["iris"]["mean_difference"] == 0.5
    assert returned["wine"]["mean_difference"] == -0.5
    assert returned["all"]["pairs"] == 6 and returned["all"]["mean_difference"] == pytest.approx(1 / 6)
    assert compare(records, "after", "before", "test_examples_search_best")["wine"]["mean_difference"] == 0


def _selection_record(seed=0):
    return {"task": "iris", "seed": seed, "src_hash": "0" * 64, "test_unoptimized": 0.3,
            "test_search_best": 0.6,
            "selection": {"baseline_holdout_score": 0.4,
                          "contenders": [{"configuration": {"p.demos": 1}, "holdout_score": 0.6}]}}


def test_a_run_returns_the_search_best_only_at_levels_its_held_out_gain_clears():
    # 4 examples better, 2 worse, 14 the same: clear at 50%, not at 90%.
    differences = [1.0] * 4 + [-1.0] * 2 + [0.0] * 14
    run = decisions(_selection_record(), differences, levels=(0.9, 0.5))
    assert run["levels"]["0.9"] == {"returns_search_best": False, "test": 0.3,
                                    "gap": pytest.approx(0.1)}
    assert run["levels"]["0.5"] == {"returns_search_best": True, "test": 0.6,
                                    "gap": pytest.approx(0.0)}
    untested = decisions(_selection_record(), None, levels=(0.5,))
    assert untested["levels"]["0.5"]["returns_search_best"] is False


def test_summary_counts_runs_kept_as_given_per_level():
    runs = [decisions(_selection_record(0), [1.0] * 10, levels=(0.9, 0.5)),
            decisions(_selection_record(1), [1.0, -1.0] * 5, levels=(0.9, 0.5))]
    summary = summarize(runs, levels=(0.9, 0.5))
    assert summary["0.9"]["kept_as_given"] == 1 and summary["0.9"]["test"] == pytest.approx(0.45)
    assert summary["0.5"]["runs"] == 2 and summary["0.5"]["test_by_task"] == {"iris": pytest.approx(0.45)}


def test_held_out_differences_come_from_the_record_and_a_record_without_them_is_named():
    record = {**_selection_record(3), "held_out_scores": {"as_given": [1.0, 0.0, 0.0],
                                                          "search_best": [1.0, 1.0, 0.0]}}
    assert held_out_differences(record) == [0.0, 1.0, 0.0]
    assert held_out_differences({**record, "held_out_scores": None}) is None
    with pytest.raises(ValueError, match="iris seed 3 has no held_out_scores"):
        held_out_differences(_selection_record(3))
