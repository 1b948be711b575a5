"""Run a task with a live rich progress bar: what ``culturealign eval`` shows while it works."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from culturealign.evaluation.task import Task


def run_with_progress(
    task: Task,
    model_name: str,
    out_dir: Path,
    adapter: Path | None = None,
    threads: int | None = None,
    generation: Any = None,
    console: Any = None,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Load the model and run ``task`` with a rich progress bar."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from culturealign.evaluation.runner import run_task
    from culturealign.models import load_model

    with console.status(f"loading {model_name}") if console else _null():
        extra = {"concurrency": concurrency} if concurrency else {}
        lm = load_model(model_name, adapter=adapter, threads=threads, **extra)
    columns = (
        TextColumn(f"[bold]{task.name}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:

        def factory(total: int, done: int) -> Callable[[int], None]:
            tid = bar.add_task(task.name, total=total, completed=done)
            return lambda n: bar.advance(tid, n)

        return run_task(task, lm, out_dir, generation, factory)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
