"""Shared fixtures. Tests never load the embedded model unless marked ``real_lm``, and never
write to the user's cache directory (real-model call counts must not depend on earlier runs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import mipro.lm.context as lm_context


@pytest.fixture(autouse=True)
def _forbid_default_lm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_lm") is None:
        def refuse() -> None:
            raise AssertionError("this unit test reached for the default LM; pass an LM explicitly")

        monkeypatch.setattr(lm_context, "default_lm", refuse)


@pytest.fixture(autouse=True, scope="session")
def _cache_in_session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIPRO_CACHE_DIR", str(tmp_path_factory.mktemp("mipro-cache")))
        yield
