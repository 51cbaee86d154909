import math

import pytest

from benchmarks.paper.cells import collect_cells, ordered_optimizers
from benchmarks.paper.figure import save_scores_figure
from benchmarks.paper.records import load_records, record_path, RunSpec, write_record
from benchmarks.paper.stats import compare_best_two, compare_with_baselines, wilcoxon_p
from benchmarks.paper.table import render_table

TREE = "a" * 64
OLD_TREE = "b" * 64


def record(task, optimizer, seed, test, *, dev=0.4, train=0.5, calls=100, seconds=60.0,
           tree=TREE, examples=None):
    """A run record as ``run_one`` writes it, with only what the table reads filled in.

    ``examples`` are the per-example test scores (default: 10 examples whose mean is ``test``).
    """
    if examples is None:
        hits = round(10 * test)
        examples = [1.0] * hits + [0.0] * (10 - hits)
    return {
        "format": 2, "task": task, "optimizer": optimizer, "seed": seed, "src_hash": tree,
        "settings": {"profile": "quick", "max_lm_calls": None,
                     "num_examples": {"trainset": 40, "train": 16, "dev": 16,
                                      "test": len(examples)},
                     "sizes": {"minibatch_size": 8, "num_trials": 5, "num_candidates": 3,
                               "max_bootstrapped_demos": 3, "max_labeled_demos": 3}},
        "scores": {"train": train, "dev": dev, "test": test},
        "example_scores": {"test": examples},
        "lm_usage": {"optimization": {"task_lm": {"calls": calls, "cache_hits": 5},
                                      "prompt_lm": {"calls": 10}}
                     if optimizer != "unoptimized" else {}},
        "wall_seconds": {"total": seconds},
        "lm": {"model_id": "smollm2-135m"}, "mipro_version": "0.1.0",
    }


def fixture_records():
    records = []
    for seed, (base, mipro, brs) in enumerate([(0.3, 0.5, 0.4), (0.3, 0.6, 0.4), (0.3, 0.5, 0.5)]):
        records += [record("iris", "unoptimized", seed, base, dev=0.3),
                    record("iris", "mipro", seed, mipro, dev=0.7),
                    record("iris", "bootstrap_random_search", seed, brs, dev=0.5)]
    records += [record("scone", "unoptimized", 0, 0.5), record("scone", "mipro", 0, 0.5)]
    return records


def cells_of(records, task):
    return [cell for (t, _), cell in collect_cells(records).items() if t == task]


def table_row(table, prefix):
    return next(line for line in table.splitlines() if line.startswith(prefix))


def test_dev_and_test_stand_side_by_side_per_optimizer_in_paper_order(tmp_path):
    for run in fixture_records():
        write_record(record_path(tmp_path, RunSpec(run["task"], run["optimizer"], run["seed"])), run)
    table = render_table(load_records(tmp_path), TREE)
    assert ("| task | unoptimized dev | unoptimized test | bootstrap_random_search dev | "
            "bootstrap_random_search test | mipro dev | mipro test |") in table
    iris = table_row(table, "| iris | 30.0 |")
    assert iris == "| iris | 30.0 | 30.0 | 50.0 | 43.3 | 70.0 | **53.3** |"
    assert table_row(table, "| scone | ") == \
        "| scone | 40.0 | **50.0** (n=1) | not run | not run | 40.0 | **50.0** (n=1) |"
    assert "- runs: 11 (stale, not tabulated: 0)" in table and "smollm2-135m" in table
    assert f"`{TREE[:12]}`" in table
    assert "| iris | 16 | 16 | 10 | 8 | 5 | 3 | 3 / 3 |" in table
    assert "Stale records" not in table


def test_the_val_to_test_gap_is_averaged_per_optimizer_over_tasks_and_seeds():
    table = render_table(fixture_records(), TREE)
    # mipro: iris dev 70 vs test 50, 60, 50 and scone dev 40 vs test 50 -> gaps 20, 10, 20, -10
    assert table_row(table, "| mipro | 4 |") == "| mipro | 4 | 50.0 | 62.5 | 52.5 | +10.0 |"
    assert table_row(table, "| unoptimized | 4 |") == \
        "| unoptimized | 4 | 50.0 | 32.5 | 35.0 | -2.5 |"


def test_costs_count_requests_and_uncached_calls():
    table = render_table(fixture_records(), TREE)
    assert "115 requests (110 uncached), 1.0 min" in table
    assert "0 requests (0 uncached), 1.0 min" in table


def test_records_of_another_source_tree_are_listed_stale_and_not_tabulated():
    stale = [record("iris", "mipro", 0, 1.0, tree=OLD_TREE), record("hover", "mipro", 1, 0.9,
                                                                     tree=OLD_TREE)]
    legacy = {"task": "iris", "optimizer": "opro", "seed": 2, "scores": {"test": 1.0}}
    table = render_table(fixture_records() + stale + [legacy], TREE)
    assert "- runs: 11 (stale, not tabulated: 3)" in table
    assert table_row(table, "| iris | 30.0 |").endswith("| 70.0 | **53.3** |")
    assert "hover" not in table.split("## Stale records")[0]
    assert "opro" not in table.split("## Stale records")[0]
    stale_part = table.split("## Stale records")[1]
    assert f"- `{OLD_TREE[:12]}` (2): hover x mipro x seed 1, iris x mipro x seed 0" in stale_part
    assert "- `none` (1): iris x opro x seed 2" in stale_part
    assert "Rerunning the command that made them replaces them." in stale_part


def test_a_table_without_a_record_of_the_tree_says_so_and_lists_the_stale_ones():
    table = render_table([record("iris", "mipro", 0, 0.5, tree=OLD_TREE)], TREE)
    assert "nothing to tabulate" in table and "## Scores" not in table
    assert "iris x mipro x seed 0" in table


def test_best_two_are_chosen_by_mean_test_score_and_paired_by_seed():
    comparison = compare_best_two("iris", cells_of(fixture_records(), "iris"))
    assert (comparison.best, comparison.second) == ("mipro", "bootstrap_random_search")
    assert comparison.pairs == 3
    assert comparison.mean_difference == pytest.approx(0.10)
    assert comparison.p_value == pytest.approx(0.5)  # 2 non-zero differences, exact test
    assert "cannot fall below 0.5" in comparison.note


def test_comparison_pairs_only_the_seeds_both_optimizers_ran():
    records = fixture_records() + [record("iris", "bootstrap_random_search", 7, 0.9)]
    assert compare_best_two("iris", cells_of(records, "iris")).pairs == 3


def test_one_paired_seed_is_reported_instead_of_tested():
    comparison = compare_best_two("scone", cells_of(fixture_records(), "scone"))
    assert comparison.p_value is None
    assert comparison.note == "too few paired seeds (1; the test needs 2)"


def test_all_zero_differences_are_reported_instead_of_tested():
    records = [record("scone", o, s, 0.5) for o in ("unoptimized", "mipro") for s in (0, 1, 2)]
    comparison = compare_best_two("scone", cells_of(records, "scone"))
    assert comparison.p_value is None and comparison.note == "all paired differences are zero"


def test_a_single_optimizer_has_nothing_to_compare():
    comparison = compare_best_two("iris", cells_of([record("iris", "mipro", 0, 0.4)], "iris"))
    assert (comparison.best, comparison.second, comparison.p_value) == ("mipro", None, None)
    assert comparison.note == "fewer than two optimizers ran"


def test_ties_in_mean_score_break_by_column_order():
    records = [record("iris", o, s, 0.5 + 0.1 * s) for o in ("mipro", "opro") for s in (0, 1)]
    comparison = compare_best_two("iris", cells_of(records, "iris"))
    assert (comparison.best, comparison.second) == ("opro", "mipro")


def test_mipro_against_baselines_pools_per_example_scores_over_seeds():
    # mipro answers examples 0-7 of 10, the baseline 0-1 (seed 0) and 0-2 (seed 1): 11 pairs
    # where only mipro is right, none the other way (the sign test alone gives 2 / 2**11)
    records = [record("iris", "mipro", s, 0.8) for s in (0, 1)]
    records += [record("iris", "bootstrap_random_search", 0, 0.2),
                record("iris", "bootstrap_random_search", 1, 0.3)]
    [test] = compare_with_baselines("iris", cells_of(records, "iris"))
    assert (test.baseline, test.seeds, test.pairs) == ("bootstrap_random_search", 2, 20)
    assert test.mean_difference == pytest.approx(0.55)
    assert test.p_value < 0.002
    assert test.verdict == "win"


def test_a_baseline_ahead_on_every_example_is_a_loss_and_an_even_split_a_tie():
    ahead = [record("iris", "mipro", s, 0.0) for s in (0, 1, 2)]
    ahead += [record("iris", "unoptimized", s, 1.0) for s in (0, 1, 2)]
    assert compare_with_baselines("iris", cells_of(ahead, "iris"))[0].verdict == "loss"
    split = [record("iris", "mipro", 0, 0.5, examples=[1.0] * 5 + [0.0] * 5),
             record("iris", "unoptimized", 0, 0.5, examples=[0.0] * 5 + [1.0] * 5)]
    [tie] = compare_with_baselines("iris", cells_of(split, "iris"))
    assert tie.verdict == "tie" and tie.p_value == pytest.approx(1.0)


def test_seeds_with_different_test_sets_are_not_paired():
    records = [record("iris", "mipro", 0, 0.5), record("iris", "mipro", 1, 0.5),
               record("iris", "unoptimized", 0, 0.0),
               record("iris", "unoptimized", 1, 0.0, examples=[0.0] * 4)]
    [test] = compare_with_baselines("iris", cells_of(records, "iris"))
    assert (test.seeds, test.pairs) == (1, 10)
    assert "seeds [1] left out: test sets differ" in test.note


def test_the_table_counts_mipro_wins_ties_and_losses_per_baseline():
    records = fixture_records()
    table = render_table(records, TREE)
    section = table.split("## mipro against each baseline")[1].split("## Sizes")[0]
    iris = table_row(section, "| iris | unoptimized |")
    assert iris.startswith("| iris | unoptimized | 3 | 30 | +23.3 |") and "| win |" in iris
    assert "| scone | unoptimized | 1 | 10 | +0.0 | – | tie | all paired differences are zero |" \
        in section
    assert "| unoptimized | 1 | 1 | 0 |" in section
    assert "| bootstrap_random_search | 0 | 1 | 0 |" in section


def test_without_mipro_runs_the_baseline_section_says_so():
    table = render_table([record("iris", "unoptimized", 0, 0.3), record("iris", "opro", 0, 0.4)],
                         TREE)
    assert "`mipro` and another optimizer did not both run on any task." in table


@pytest.mark.parametrize("differences, expected", [
    ([0.1, 0.2, 0.3, 0.05, 0.15, 0.25], 0.03125),
    ([0.1, -0.2, 0.3], 0.75),
    ([0.1, 0.0, 0.2], 0.5),  # the zero is dropped: 2 non-zero pairs
    ([1.0, 1.0] + [0.0] * 298, 0.5),  # many zeros do not make 2 wins significant
    ([1.0] * 8 + [-1.0] * 2, 0.109375),  # all ranks tied: the exact sign test
    ([-1.0] + [0.0] * 5, 1.0),
])
def test_wilcoxon_p_values(differences, expected):
    p_value, _ = wilcoxon_p(differences)
    assert p_value == pytest.approx(expected)


def test_wilcoxon_p_of_many_tied_differences_is_the_sign_test():
    """40 examples won and 29 lost by one point each: the exact two-sided sign test gives
    0.228; the normal approximation of the signed-rank test gave 0.185."""
    p_value, note = wilcoxon_p([1.0] * 40 + [-1.0] * 29 + [0.0] * 31, unit="examples")
    assert p_value == pytest.approx(0.2284, abs=0.01) and note == ""


def test_too_few_pairs_give_no_p_value():
    assert wilcoxon_p([0.2]) == (None, "too few paired seeds (1; the test needs 2)")
    assert wilcoxon_p([], unit="examples") == (None, "too few paired examples (0; the test needs 2)")


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
    save_scores_figure(collect_cells(fixture_records()), tmp_path / "scores.png")
    assert (tmp_path / "scores.png").read_bytes().startswith(b"\x89PNG")
