"""Run a task with a live progress bar: what ``culturealign eval`` shows while it works."""

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
    """Load the model and run ``task`` with a progress bar (a line every N s in a log file)."""
    from culturealign.evaluation.runner import run_task
    from culturealign.models import load_model
    from culturealign.progress import loading, progress

    with loading(console, model_name):
        extra: dict[str, Any] = {"concurrency": concurrency} if concurrency else {}
        lm = load_model(model_name, adapter=adapter, threads=threads, **extra)
    with progress(console) as bar:

        def factory(total: int, done: int) -> Callable[[int], None]:
            tid: Any = bar.add_task(f"[bold]{task.name}[/]", total=total, completed=done)
            return lambda n: bar.advance(tid, n)

        return run_task(task, lm, out_dir, generation, factory)
