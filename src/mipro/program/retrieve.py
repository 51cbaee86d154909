"""Retrieval over a local passage corpus with BM25 (bm25s)."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bm25s

from mipro.errors import ConfigurationError
from mipro.program.example import Prediction
from mipro.program.module import Module


class BM25Index:
    """A BM25 index over passages (English stopwords removed); shared by copies of a program."""

    def __init__(self, passages: Sequence[str]) -> None:
        if not passages:
            raise ConfigurationError("BM25Index needs at least one passage")
        self.passages = list(passages)
        self._retriever = bm25s.BM25()
        self._retriever.index(bm25s.tokenize(self.passages, stopwords="en", show_progress=False),
                              show_progress=False)
        self._lock = threading.Lock()

    @classmethod
    def from_jsonl(cls, path: str | Path, *, template: str = "{title} | {text}") -> BM25Index:
        """Index a JSONL corpus, one passage a line, rendered with ``template``."""
        passages = []
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    passages.append(template.format(**json.loads(line)))
                except (json.JSONDecodeError, KeyError) as error:
                    raise ConfigurationError(f"{path}, line {number}: {error!r}") from None
        return cls(passages)

    def search(self, query: str, k: int) -> list[str]:
        """The ``k`` best passages for ``query``, best first."""
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.ids or not tokens.ids[0]:
            return self.passages[:0]
        k = min(k, len(self.passages))
        with self._lock:
            documents, _ = self._retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [self.passages[int(i)] for i in documents[0]]

    def __deepcopy__(self, memo: dict[int, Any]) -> BM25Index:
        return self


class Retrieve(Module):
    """Returns the ``k`` passages of ``index`` that best match a query."""

    def __init__(self, index: BM25Index, *, k: int = 3) -> None:
        self.index = index
        self.k = k

    def forward(self, query: str, k: int | None = None) -> Prediction:  # type: ignore[override]
        return Prediction(passages=self.index.search(query, k or self.k))
