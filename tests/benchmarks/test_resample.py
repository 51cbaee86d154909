"""Resampled splits: each seed draws disjoint train, validation and test examples of the task's
sizes, the same ones in every process, and different ones at another seed."""

from types import SimpleNamespace

from benchmarks.resample import resampled_splits


def _task(name="toy"):
    return SimpleNamespace(name=name, trainset=[f"a{i}" for i in range(30)],
                           valset=[f"b{i}" for i in range(20)],
                           testset=[f"c{i}" for i in range(50)])


def test_splits_are_disjoint_capped_and_drawn_from_every_split():
    train, val, test = resampled_splits(_task(), seed=0, max_train=100, max_val=10, max_test=40)
    assert (len(train), len(val), len(test)) == (30, 10, 40)
    assert len(set(train) | set(val) | set(test)) == 80
    drawn = train + val + test
    assert {item[0] for item in drawn} == {"a", "b", "c"}  # not the task's own split
    assert not set(train) <= set(_task().trainset)


def test_the_same_seed_gives_the_same_splits_and_another_seed_others():
    first = resampled_splits(_task(), seed=3, max_train=30, max_val=20, max_test=50)
    assert first == resampled_splits(_task(), seed=3, max_train=30, max_val=20, max_test=50)
    assert first[2] != resampled_splits(_task(), seed=4, max_train=30, max_val=20, max_test=50)[2]
    assert first[2] != resampled_splits(_task("other"), seed=3, max_train=30, max_val=20,
                                        max_test=50)[2]
