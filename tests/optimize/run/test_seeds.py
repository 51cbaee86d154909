"""sub_seed: one named sub-seed per purpose, the same in every process, for any int seed."""

import subprocess
import sys

import numpy as np
import optuna
import pytest

from mipro.optimize.run.seeds import SEED_BITS, sub_seed


def test_the_same_seed_and_purpose_give_the_same_sub_seed_in_a_fresh_process():
    script = "from mipro.optimize.run.seeds import sub_seed; print(sub_seed(7, 'minibatch', 3))"
    there = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert int(there.stdout) == sub_seed(7, "minibatch", 3)


def test_purposes_and_seeds_give_unrelated_sub_seeds():
    seeds = {sub_seed(seed, purpose, n) for seed in (0, 1, -1) for purpose in ("tpe", "greedy", "minibatch")
             for n in range(50)}
    assert len(seeds) == 3 * 3 * 50


@pytest.mark.parametrize("seed", [0, -1, -(10**30), 2**31 - 1, 2**64, 10**30])
def test_any_int_seed_gives_a_sub_seed_every_sampler_accepts(seed):
    value = sub_seed(seed, "tpe", "configurations", 0)
    assert 0 <= value < 2**SEED_BITS
    np.random.RandomState(value)
    optuna.samplers.TPESampler(seed=value)
