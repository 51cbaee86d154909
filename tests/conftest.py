"""Shared fixtures. Tests never load the embedded model unless marked ``real_lm``."""

from __future__ import annotations

import pytest

import mipro.lm.context as lm_context


@pytest.fixture(autouse=True)
def _forbid_default_lm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_lm") is None:
        def refuse() -> None:
            raise AssertionError("this unit test reached for the default LM; pass an LM explicitly")

        monkeypatch.setattr(lm_context, "default_lm", refuse)
