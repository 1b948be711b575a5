"""Evaluation: tasks (dataset + prompt + scorer + metrics), a resumable runner, metrics."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError
from culturealign.evaluation.task import TASKS, Sample, Task, task

__all__ = ["Sample", "Task", "build_task", "registered_tasks", "run_with_progress", "task"]


def registered_tasks() -> dict[str, Callable[..., Task]]:
    import culturealign.evaluation.tasks  # noqa: F401  (registers the built-in tasks)

    return dict(sorted(TASKS.items()))


def build_task(name: str, options: dict[str, Any]) -> Task:
    """Build task ``name`` from the options its factory accepts; reject unknown ones."""
    factories = registered_tasks()
    if name not in factories:
        raise CultureAlignError(f"unknown task {name!r}", f"choose one of: {', '.join(factories)}")
    params = inspect.signature(factories[name]).parameters
    unknown = [k for k in options if k not in params and k != "mode"] if params else []
    if "mode" in options and "mode" not in params:
        unknown.append("mode")
    if unknown:
        raise CultureAlignError(
            f"task {name!r} does not take {', '.join(unknown)}",
            f"it takes: {', '.join(params)}",
        )
    kwargs = {k: _coerce(params[k], v) for k, v in options.items()}
    missing = [k for k, p in params.items() if p.default is p.empty and k not in kwargs]
    if missing:
        raise CultureAlignError(f"task {name!r} needs {', '.join(missing)}", "pass them as options")
    try:
        return factories[name](**kwargs)
    except ValueError as exc:
        raise CultureAlignError(f"task {name!r}: {exc}", "check the task options") from exc


def _coerce(param: inspect.Parameter, value: Any) -> Any:
    """Turn CLI strings (-T key=value) into the annotated type where it is simple."""
    if not isinstance(value, str):
        return value
    ann = str(param.annotation)
    if ann.startswith("int"):
        return int(value)
    if ann.startswith("bool"):
        return value.lower() in ("1", "true", "yes", "on")
    if ann.startswith("Path"):
        return Path(value)
    return value


def run_with_progress(
    task: Task,
    model_name: str,
    out_dir: Path,
    adapter: Path | None = None,
    threads: int | None = None,
    generation: Any = None,
    console: Any = None,
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
        lm = load_model(model_name, adapter=adapter, threads=threads)
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
