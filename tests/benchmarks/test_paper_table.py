import math

import pytest

from benchmarks.paper_table import (
    collect_cells,
    compare_best_two,
    load_runs,
    ordered_optimizers,
    render_table,
    wilcoxon_p,
)
from benchmarks.paper_figure import save_scores_figure
from benchmarks.paper_runs import write_record


def record(task, optimizer, seed, test, *, train=0.5, dev=0.4, calls=100, seconds=60.0):
    """A run record as ``run_one`` writes it, with only what the table reads filled in."""
    return {
        "task": task, "optimizer": optimizer, "seed": seed, "size_profile": "quick",
        "scores": {"train": train, "dev": dev, "test": test},
        "lm_usage": {"optimization": {"task_lm": {"calls": calls, "cache_hits": 5},
                                      "prompt_lm": {"calls": 10}}
                     if optimizer != "unoptimized" else {}},
        "wall_seconds": {"total": seconds},
        "lm": {"model_id": "smollm2-135m"}, "mipro_version": "0.1.0",
        "num_examples": {"train": 16, "dev": 16, "test": 40},
        "sizes": {"minibatch_size": 8, "num_trials": 5, "num_candidates": 3,
                  "max_bootstrapped_demos": 3, "max_labeled_demos": 3},
    }


def fixture_runs():
    runs = []
    for seed, (base, mipro, brs) in enumerate([(0.30, 0.50, 0.40), (0.30, 0.60, 0.45),
                                               (0.30, 0.55, 0.50)]):
        runs += [record("iris", "unoptimized", seed, base), record("iris", "mipro", seed, mipro),
                 record("iris", "bootstrap_random_search", seed, brs)]
    runs += [record("scone", "unoptimized", 0, 0.5), record("scone", "mipro", 0, 0.5)]
    return runs


def cells_of(runs, task):
    return [cell for (t, _), cell in collect_cells(runs).items() if t == task]


def test_table_has_a_row_per_task_and_a_column_per_optimizer_in_paper_order(tmp_path):
    for run in fixture_runs():
        write_record(tmp_path / f"{run['task']}__{run['optimizer']}__seed{run['seed']}.json", run)
    table = render_table(load_runs(tmp_path))
    assert "| task | unoptimized | bootstrap_random_search | mipro |" in table
    iris_row = next(line for line in table.splitlines() if line.startswith("| iris | 30.0"))
    assert "**55.0** (50.0 / 40.0) n=3" in iris_row
    assert "45.0 (50.0 / 40.0) n=3" in iris_row
    scone_row = next(line for line in table.splitlines() if line.startswith("| scone | "))
    assert "not run" in scone_row  # bootstrap_random_search has no scone run
    assert "115 requests (110 uncached), 1.0 min" in table
    assert "0 requests (0 uncached), 1.0 min" in table
    assert "- runs: 11" in table and "smollm2-135m" in table
    assert "| iris | 16 | 16 | 40 | 8 | 5 | 3 | 3 / 3 |" in table


def test_best_two_are_chosen_by_mean_test_score_and_paired_by_seed():
    comparison = compare_best_two("iris", cells_of(fixture_runs(), "iris"))
    assert (comparison.best, comparison.second) == ("mipro", "bootstrap_random_search")
    assert comparison.pairs == 3
    assert comparison.mean_difference == pytest.approx(0.10)
    assert comparison.p_value == pytest.approx(0.25)  # 3 positive differences, exact test
    assert "cannot fall below 0.25" in comparison.note


def test_comparison_pairs_only_the_seeds_both_optimizers_ran():
    runs = fixture_runs() + [record("iris", "bootstrap_random_search", 7, 0.9)]
    comparison = compare_best_two("iris", cells_of(runs, "iris"))
    assert comparison.pairs == 3


def test_one_paired_seed_is_reported_instead_of_tested():
    comparison = compare_best_two("scone", cells_of(fixture_runs(), "scone"))
    assert comparison.p_value is None
    assert comparison.note == "too few paired seeds (1; the test needs 2)"


def test_all_zero_differences_are_reported_instead_of_tested():
    runs = [record("scone", o, s, 0.5) for o in ("unoptimized", "mipro") for s in (0, 1, 2)]
    comparison = compare_best_two("scone", cells_of(runs, "scone"))
    assert comparison.p_value is None and comparison.note == "all paired differences are zero"


def test_a_single_optimizer_has_nothing_to_compare():
    comparison = compare_best_two("iris", cells_of([record("iris", "mipro", 0, 0.4)], "iris"))
    assert (comparison.best, comparison.second, comparison.p_value) == ("mipro", None, None)
    assert comparison.note == "fewer than two optimizers ran"


def test_ties_in_mean_score_break_by_column_order():
    runs = [record("iris", o, s, 0.5 + 0.1 * s) for o in ("mipro", "opro") for s in (0, 1)]
    comparison = compare_best_two("iris", cells_of(runs, "iris"))
    assert (comparison.best, comparison.second) == ("opro", "mipro")


@pytest.mark.parametrize("differences, expected", [
    ([0.1, 0.2, 0.3, 0.05, 0.15, 0.25], 0.03125),
    ([0.1, -0.2, 0.3], 0.75),
    ([0.1, 0.0, 0.2], 0.5),  # the zero is dropped: 2 non-zero pairs
])
def test_wilcoxon_p_values(differences, expected):
    p_value, _ = wilcoxon_p(differences)
    assert p_value == pytest.approx(expected)


def test_too_few_seeds_give_no_p_value():
    assert wilcoxon_p([0.2]) == (None, "too few paired seeds (1; the test needs 2)")
    assert wilcoxon_p([]) == (None, "too few paired seeds (0; the test needs 2)")


def test_missing_split_scores_are_skipped_in_the_mean():
    run = record("iris", "mipro", 0, 0.5)
    run["scores"]["train"] = None
    cell = collect_cells([run, record("iris", "mipro", 1, 0.7, train=0.6)])["iris", "mipro"]
    assert cell.mean("train") == pytest.approx(0.6)
    assert math.isnan(collect_cells([run])["iris", "mipro"].mean("train"))


def test_unknown_optimizers_follow_the_paper_ones_alphabetically():
    assert ordered_optimizers(["zeta", "mipro", "alpha", "unoptimized"]) == [
        "unoptimized", "mipro", "alpha", "zeta"]


def test_the_figure_is_saved_as_png(tmp_path):
    save_scores_figure(collect_cells(fixture_runs()), tmp_path / "scores.png")
    assert (tmp_path / "scores.png").read_bytes().startswith(b"\x89PNG")
