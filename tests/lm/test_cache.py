"""SQLiteCache: hits skip the LM, the key includes the rollout, processes share the file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from mipro import ConfigurationError
from mipro.lm import LMRequest, LMResponse, SQLiteCache, TokenUsage
from mipro.lm.cache import resolve_cache
from mipro.testing import ScriptedLM

REQUEST = LMRequest(prompt="Question: 2 + 2?\nAnswer:", max_tokens=8)


def test_identical_second_call_is_served_from_the_cache(tmp_path: Path):
    cache = SQLiteCache(tmp_path / "cache.sqlite")
    lm = ScriptedLM(["four"], cache=cache)
    first = lm(REQUEST)
    before = lm.usage.snapshot()
    second = lm(REQUEST)
    used = lm.usage.snapshot() - before
    assert (first.text, first.cached) == ("four", False)
    assert (second.text, second.cached) == ("four", True)
    assert second.usage == first.usage
    assert (used.calls, used.cache_hits) == (0, 1)
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_different_rollout_misses(tmp_path: Path):
    lm = ScriptedLM(["four", "4"], cache=SQLiteCache(tmp_path / "cache.sqlite"))
    assert lm(REQUEST).text == "four"
    resampled = lm(LMRequest(prompt=REQUEST.prompt, max_tokens=8, rollout=1))
    assert (resampled.text, resampled.cached) == ("4", False)
    assert lm.usage.calls == 2


def test_another_process_reads_the_same_cache_file(tmp_path: Path):
    path = tmp_path / "cache.sqlite"
    ScriptedLM(["four"], cache=SQLiteCache(path))(REQUEST)
    script = textwrap.dedent(f"""
        from mipro.lm import LMRequest, SQLiteCache
        from mipro.testing import ScriptedLM
        lm = ScriptedLM(["never called"], cache=SQLiteCache({str(path)!r}))
        response = lm(LMRequest(prompt={REQUEST.prompt!r}, max_tokens=8))
        print(response.text, response.cached, lm.usage.calls, lm.usage.snapshot().cache_hits)
    """)
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=120).stdout
    assert output.split() == ["four", "True", "0", "1"]


def test_concurrent_threads_share_one_cache(tmp_path: Path):
    cache = SQLiteCache(tmp_path / "cache.sqlite")

    def work(worker: int) -> None:
        for index in range(20):
            response = LMResponse((f"text {worker} {index}",), TokenUsage(1, 2))
            cache.put(f"{worker}-{index}", response)
            assert cache.get(f"{worker}-{index}") == LMResponse(
                response.texts, response.usage, cached=True)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 80 and cache.hits == 80


def test_default_path_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MIPRO_CACHE_DIR", str(tmp_path / "here"))
    assert SQLiteCache().path == tmp_path / "here" / "lm_cache.sqlite"
    assert isinstance(resolve_cache(True), SQLiteCache)


def test_cache_can_be_turned_off():
    assert resolve_cache(False) is None and resolve_cache(None) is None
    lm = ScriptedLM(["a", "b"], cache=resolve_cache(False))
    assert [lm(REQUEST).text, lm(REQUEST).text] == ["a", "b"]


def test_rejects_a_cache_without_get_and_put():
    with pytest.raises(ConfigurationError, match="cache must be True, False, None"):
        resolve_cache("yes")  # type: ignore[arg-type]


def test_unwritable_location_is_a_configuration_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError, match="cannot open the LM cache"):
        SQLiteCache(blocker / "cache.sqlite")
