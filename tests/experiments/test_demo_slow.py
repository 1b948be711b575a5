"""The full demo (the shipped demo spec on gemma-3-270m): minutes, so behind -m slow."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.slow, pytest.mark.needs_data]

BUDGET_S = 20 * 60  # the bound on 2 CPU cores with a warm model cache


def test_demo_finishes_in_budget_with_the_full_grid(tmp_path, monkeypatch):
    import typer

    from culturealign.cli.experiments import demo_cmd

    monkeypatch.chdir(tmp_path.parent)  # no checkout around: demo reads the packaged spec
    app = typer.Typer()
    app.command()(demo_cmd)
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["--out", str(tmp_path / "demo")])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    report = (tmp_path / "demo" / "report.md").read_text()
    for row in (
        "no fine-tuning (3-shot)",
        "no fine-tuning (0-shot)",
        "| JCM |",
        "| ETHICS |",
        "JCM-EN",
        "ETHICS-JA",
    ):
        assert row in report
    assert "not run" in report  # the translated rows, with their reason
    assert elapsed < BUDGET_S, f"demo took {elapsed / 60:.1f} min"
