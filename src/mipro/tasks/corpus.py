"""The local HotPotQA passage corpus: its BM25 index, built once per process, and passage lists."""

from __future__ import annotations

import threading
from typing import Any

from mipro.program import BM25Index
from mipro.tasks.files import data_file, read_jsonl, text_field

# Passages are cut to their first 60 words (about 90 tokens) so that six of them, plus demos,
# fit the embedded model's context window. The gold answer still appears in the cut gold
# passages of 95% of the questions that are not yes/no, and BM25 finds gold passages as often.
PASSAGE_WORDS = 60

_index: BM25Index | None = None
_index_lock = threading.Lock()


def corpus_index() -> BM25Index:
    """BM25 over the 5,852 passages of ``data/hotpotqa/corpus.jsonl``, as ``"title | text"``.

    Built on the first call and shared afterwards by every program of every task that uses it.
    """
    global _index
    with _index_lock:
        if _index is None:
            _index = BM25Index(read_jsonl(data_file("hotpotqa", "corpus.jsonl"), render_passage))
        return _index


def render_passage(row: dict[str, Any]) -> str:
    """``"title | text"`` with the text cut to its first ``PASSAGE_WORDS`` words."""
    words = text_field(row, "text").split()
    text = " ".join(words[:PASSAGE_WORDS]) + (" ..." if len(words) > PASSAGE_WORDS else "")
    return f"{text_field(row, 'title')} | {text}"


def with_new_passages(passages: list[str], found: list[str]) -> list[str]:
    """``passages`` followed by the ``found`` passages it does not hold yet (a new list)."""
    return passages + [passage for passage in found if passage not in passages]
