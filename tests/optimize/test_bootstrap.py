import random

from mipro.optimize.bootstrap import _label_diverse_order, _PassingTrace


def test_demo_sets_cycle_through_final_outputs():
    traced = [_PassingTrace(i, {}, "setosa") for i in range(6)]
    traced += [_PassingTrace(10, {}, "virginica"), _PassingTrace(11, {}, "versicolor")]
    order = _label_diverse_order(traced, random.Random(0))
    assert sorted(t.position for t in order) == sorted(t.position for t in traced)
    assert {t.final_output for t in order[:3]} == {"setosa", "virginica", "versicolor"}
