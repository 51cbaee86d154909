"""A member of the family is a Plan; its fingerprint names the kind of every part."""

from mipro.optimize import OPTIMIZERS
from mipro.testing import exact_answer


def test_every_family_member_has_a_plan_of_its_own():
    plans = {name: factory(exact_answer).plan for name, factory in OPTIMIZERS.items()}
    fingerprints = [str(plan.fingerprint()) for plan in plans.values()]
    assert len(set(fingerprints)) == len(OPTIMIZERS)
    assert plans["bootstrap_random_search"].fingerprint()["search"]["kind"] == "DemoSetSweep"
    assert plans["mipro"].proposals is not None and plans["mipro++"].proposals is None
    assert not plans["mipro_0shot"].demo_sets.in_program and plans["mipro"].demo_sets.in_program


def test_the_fingerprint_tells_strategies_without_options_apart():
    greedy = OPTIMIZERS["bayesian_bootstrap"](exact_answer, credit_assignment="greedy").plan
    sweep = OPTIMIZERS["bootstrap_random_search"](exact_answer).plan
    assert greedy.fingerprint()["search"] == {"kind": "GreedyCredit"}
    assert sweep.fingerprint()["search"] == {"kind": "DemoSetSweep"}
