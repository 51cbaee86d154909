import random

from mipro.optimize.bootstrap import _capped_per_output, _label_diverse_order, _PassingTrace


def test_demo_sets_cycle_through_final_outputs():
    traced = [_PassingTrace(i, {}, "setosa") for i in range(6)]
    traced += [_PassingTrace(10, {}, "virginica"), _PassingTrace(11, {}, "versicolor")]
    order = _label_diverse_order(traced, random.Random(0))
    assert sorted(t.position for t in order) == sorted(t.position for t in traced)
    assert {t.final_output for t in order[:3]} == {"setosa", "virginica", "versicolor"}


def test_one_output_fills_at_most_half_a_set():
    same = [_PassingTrace(i, {}, "setosa") for i in range(6)]
    assert [t.position for t in _capped_per_output(same, 4)] == [0, 1]
    mixed = same[:3] + [_PassingTrace(9, {}, "virginica")]
    assert [t.position for t in _capped_per_output(mixed, 4)] == [0, 1, 9]
