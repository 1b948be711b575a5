from __future__ import annotations

from pathlib import Path

import pytest

from tests.translation.tiny_m2m import build_tiny_m2m


@pytest.fixture(scope="session")
def tiny_m2m(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_m2m(tmp_path_factory.mktemp("tiny_m2m"))


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CULTUREALIGN_CACHE", str(cache))
    return cache
