"""Fixtures of the LM tests: no test writes to the user's cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIPRO_CACHE_DIR", str(tmp_path / "default-cache"))
