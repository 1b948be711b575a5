"""Training-step progress showing loss, reward accuracy and margin (a line every N s in a log)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from culturealign.progress import progress


@contextmanager
def step_bar(console: Console | None, label: str) -> Iterator[Any]:
    """Yield ``hook(step, total, record)``; the bar shows the latest step's statistics."""
    with progress(console, stats=True) as bar:
        task: Any = bar.add_task(f"[bold]{label}[/]", total=None, stats="")

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
