"""The local HotPotQA passage corpus: its BM25 index, built once per process, and passage lists."""

from __future__ import annotations

import threading

from mipro.program import BM25Index
from mipro.tasks.files import data_file

_index: BM25Index | None = None
_index_lock = threading.Lock()


def corpus_index() -> BM25Index:
    """BM25 over the 5,852 ``"title | text"`` passages of ``data/hotpotqa/corpus.jsonl``.

    Built on the first call and shared afterwards by every program of every task that uses it.
    """
    global _index
    with _index_lock:
        if _index is None:
            _index = BM25Index.from_jsonl(data_file("hotpotqa", "corpus.jsonl"))
        return _index


def with_new_passages(passages: list[str], found: list[str]) -> list[str]:
    """``passages`` followed by the ``found`` passages it does not hold yet (a new list)."""
    return passages + [passage for passage in found if passage not in passages]
