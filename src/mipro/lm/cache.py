"""The persistent LM cache: replies stored in SQLite under the request's cache key.

The default database lives in ``platformdirs.user_cache_dir("mipro")``, or in the directory named
by the ``MIPRO_CACHE_DIR`` environment variable. One database may be shared by many threads
(one connection behind a lock) and many processes (WAL journal, busy timeout).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

import platformdirs

from mipro.errors import ConfigurationError
from mipro.lm.base import LMResponse, TokenUsage

CACHE_DIR_VARIABLE = "MIPRO_CACHE_DIR"
CACHE_FILE_NAME = "lm_cache.sqlite"
_BUSY_TIMEOUT_MS = 30_000


@runtime_checkable
class LMCache(Protocol):
    """What ``BaseLM`` needs of a cache: replies stored and found by cache key."""

    def get(self, key: str) -> LMResponse | None: ...

    def put(self, key: str, response: LMResponse) -> None: ...


def default_cache_path() -> Path:
    """``$MIPRO_CACHE_DIR/lm_cache.sqlite``, else the same file in the user's cache directory."""
    directory = os.environ.get(CACHE_DIR_VARIABLE) or platformdirs.user_cache_dir("mipro")
    return Path(directory) / CACHE_FILE_NAME


class SQLiteCache:
    """LM replies (texts and token usage) in a SQLite file; a hit comes back ``cached=True``.

    ``hits`` and ``misses`` count the lookups of this instance.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )
            self._connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS responses "
                "(key TEXT PRIMARY KEY, response TEXT NOT NULL, created REAL NOT NULL)"
            )
        except (OSError, sqlite3.Error) as error:
            raise ConfigurationError(
                f"cannot open the LM cache at {self.path}: {error}; pass cache=SQLiteCache(path) "
                f"with a writable path, set {CACHE_DIR_VARIABLE}, or turn the cache off with "
                "cache=False"
            ) from None

    def get(self, key: str) -> LMResponse | None:
        """The stored reply for ``key`` (marked ``cached``), or None."""
        with self._lock:
            row = self._connection.execute(
                "SELECT response FROM responses WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        stored = json.loads(row[0])
        return LMResponse(tuple(stored["texts"]), TokenUsage(**stored["usage"]), cached=True)

    def put(self, key: str, response: LMResponse) -> None:
        """Store ``response`` under ``key`` (replacing an older entry)."""
        stored = json.dumps({
            "texts": list(response.texts),
            "usage": {"prompt_tokens": response.usage.prompt_tokens,
                      "completion_tokens": response.usage.completion_tokens},
        })
        with self._lock:
            self._connection.execute(
                "INSERT OR REPLACE INTO responses (key, response, created) VALUES (?, ?, ?)",
                (key, stored, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._connection.close()

    def __repr__(self) -> str:
        return f"SQLiteCache({str(self.path)!r}, hits={self.hits}, misses={self.misses})"


def resolve_cache(cache: LMCache | bool | None) -> LMCache | None:
    """The cache an LM uses: ``True`` means a ``SQLiteCache`` at the default path; ``False`` or
    ``None`` turn caching off; any other value must be an ``LMCache``."""
    if cache is True:
        return SQLiteCache()
    if cache is None or cache is False:
        return None
    if not isinstance(cache, LMCache):
        raise ConfigurationError(
            f"cache must be True, False, None or an object with get(key) and put(key, response); "
            f"got {cache!r}"
        )
    return cache
