"""Shared fixtures: real data from $CULTUREALIGN_DATA (default ../shared/data), real models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Absolute, so that tests which change directory (runs without --out) still find the data.
DATA = Path(os.environ.get("CULTUREALIGN_DATA", REPO.parent / "shared" / "data")).resolve()
os.environ["CULTUREALIGN_DATA"] = str(DATA)


def pytest_collection_modifyitems(config, items):
    if not DATA.is_dir():
        skip = pytest.mark.skip(reason=f"real datasets not found at {DATA} (set CULTUREALIGN_DATA)")
        for item in items:
            if "needs_data" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def gemma():
    from culturealign.models import load_model

    return load_model("gemma-3-270m", threads=2)


@pytest.fixture(scope="session")
def smollm():
    from culturealign.models import load_model

    return load_model("smollm2-135m-instruct", threads=2)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 600):
    """Run the real ``culturealign`` entry point in a subprocess (true exit codes, no capture)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", "from culturealign.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
