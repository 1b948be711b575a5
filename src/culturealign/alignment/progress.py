"""A rich progress bar for training steps showing loss, reward accuracy and margin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def step_bar(console: Console | None, label: str) -> Iterator[Any]:
    """Yield ``hook(step, total, record)``; the bar shows the latest step's statistics."""
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[stats]}"),
    ]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(label, total=None, stats="")

        def hook(step: int, total: int, record: dict[str, Any]) -> None:
            stats = "  ".join(
                f"{short} {record[key]:.3f}"
                for key, short in (
                    ("loss", "loss"),
                    ("reward_accuracy", "acc"),
                    ("margin", "margin"),
                )
                if isinstance(record.get(key), int | float)
            )
            bar.update(task, completed=step, total=total, stats=stats)

        yield hook
