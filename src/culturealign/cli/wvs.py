"""The WVS values study's commands: official survey data, distillation (issue 14)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app`` (called by culturealign.cli)."""
