"""A pool of llama.cpp contexts over one model, routed to keep prompt prefixes warm.

llama.cpp reuses the key/value cache of the longest token prefix that a new prompt shares with
the previous prompt of the same context. With several contexts, each request goes to the free
context whose last prompt shares the longest prefix with it, so the modules of a multi-stage
program that take turns each keep their own instruction and demos evaluated. A prompt that
shares less than ``similarity`` of its tokens with every free context goes to the least recently
used one instead (as llama.cpp's server does), so that a short common opening, such as the
template's first words, does not pull every module into the same context.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llama_cpp import Llama


@dataclass
class _Context:
    llama: Llama
    tokens: list[int] = field(default_factory=list)
    last_used: int = 0
    busy: bool = False


class LlamaPool:
    """``size`` contexts made by ``load`` (on first use); one generation at a time in each."""

    def __init__(self, load: Callable[[], Llama], size: int, *, similarity: float = 0.5) -> None:
        self._load = load
        self._size = size
        self._similarity = similarity
        self._contexts: list[_Context] = []
        self._free = threading.Condition()
        self._clock = itertools.count(1)

    def first(self) -> Llama:
        """A loaded context, for what needs the model but not a context (tokenizing)."""
        return self._loaded()[0].llama

    @contextlib.contextmanager
    def context_for(self, tokens: Sequence[int]) -> Iterator[Llama]:
        """Hold the free context best placed to reuse a prefix of ``tokens`` while inside."""
        contexts = self._loaded()
        with self._free:
            while not any(not context.busy for context in contexts):
                self._free.wait()
            chosen = self._choose([context for context in contexts if not context.busy], tokens)
            chosen.busy = True
        try:
            yield chosen.llama
        finally:
            with self._free:
                chosen.tokens = list(tokens)
                chosen.last_used = next(self._clock)
                chosen.busy = False
                self._free.notify()

    def _choose(self, free: list[_Context], tokens: Sequence[int]) -> _Context:
        shared = {id(context): common_prefix_length(context.tokens, tokens) for context in free}
        best = max(free, key=lambda context: (shared[id(context)], -context.last_used))
        if shared[id(best)] < self._similarity * len(tokens):
            return min(free, key=lambda context: context.last_used)
        return best

    def _loaded(self) -> list[_Context]:
        with self._free:
            if not self._contexts:
                self._contexts = [_Context(self._load()) for _ in range(self._size)]
            return self._contexts


def common_prefix_length(first: Sequence[int], second: Sequence[int]) -> int:
    """How many leading tokens two token sequences share."""
    for index, (a, b) in enumerate(zip(first, second)):
        if a != b:
            return index
    return min(len(first), len(second))
