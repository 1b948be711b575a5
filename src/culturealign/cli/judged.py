"""LLM-judged evaluations' own commands, e.g. building CultureBank grounded questions (issue 11)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called by culturealign.cli)."""
