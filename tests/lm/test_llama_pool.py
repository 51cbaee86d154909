"""Routing of requests to llama.cpp contexts by shared token prefix."""

from __future__ import annotations

import threading
from typing import Any

from mipro.lm.llama_pool import LlamaPool, common_prefix_length


class FakeContext:
    """Stands in for a ``Llama``: the pool only hands it out."""

    def __init__(self, name: str) -> None:
        self.name = name


def pool_of(size: int) -> LlamaPool:
    names = iter("ABCD")
    return LlamaPool(lambda: FakeContext(next(names)), size)  # type: ignore[arg-type,return-value]


def run(pool: LlamaPool, tokens: list[int]) -> str:
    with pool.context_for(tokens) as context:
        return context.name  # type: ignore[attr-defined]


def test_common_prefix_length():
    assert common_prefix_length([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix_length([1, 2], [1, 2, 3]) == 2
    assert common_prefix_length([], [1]) == 0


def test_alternating_modules_keep_their_own_context():
    pool = pool_of(2)
    # Both prompts open with the same token, as prompts of one template do.
    module_a, module_b = [9, 1, 1, 1, 1], [9, 2, 2, 2, 2]
    routed = [run(pool, prefix + [index]) for index in range(4) for prefix in (module_a, module_b)]
    assert routed == ["A", "B"] * 4


def test_new_prompt_takes_the_least_recently_used_context():
    pool = pool_of(2)
    assert [run(pool, [1]), run(pool, [2]), run(pool, [3]), run(pool, [4])] == ["A", "B", "A", "B"]


def test_prompt_sharing_little_goes_to_the_least_recently_used_context():
    pool = pool_of(2)
    assert run(pool, [1, 2, 3, 4]) == "A"
    assert run(pool, [5, 6, 7, 8]) == "B"
    assert run(pool, [1, 2, 3, 4, 5]) == "A"  # shares 4 of 5 tokens with A
    assert run(pool, [1, 9, 9, 9, 9]) == "B"  # shares 1 of 5 with A: least recently used
    assert run(pool, [5, 6, 7, 8, 1]) == "A"  # B now holds other tokens; A is least recent


def test_a_busy_context_is_not_shared():
    pool = pool_of(2)
    inside = threading.Event()
    release = threading.Event()
    held: list[Any] = []

    def hold() -> None:
        with pool.context_for([7, 7, 7]) as context:
            held.append(context)
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(10)
    assert run(pool, [7, 7, 7, 8]) != held[0].name
    release.set()
    holder.join()
