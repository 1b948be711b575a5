"""Progress that reads everywhere: a rich bar on a terminal, a plain line every N s in a log file.

When stderr is not a terminal (a cluster job, ``> log.txt``), rich renders its bar once, at the
end, cut to the log's width. :class:`LineProgress` takes the bar's place there: same calls
(``add_task`` / ``advance`` / ``update`` / ``remove_task``, the subset of
:class:`rich.progress.Progress` culturealign uses), and it prints ``label done/total (pct) rate
ETA stats`` every ``CULTUREALIGN_PROGRESS_EVERY`` seconds (default 30) and when a task finishes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

EVERY_ENV = "CULTUREALIGN_PROGRESS_EVERY"
DEFAULT_EVERY = 30.0


def bar_columns(stats: bool = False) -> list[ProgressColumn]:
    """The columns every culturealign bar shows; ``stats`` adds the task's ``stats`` field."""
    columns: list[ProgressColumn] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    if stats:
        columns.append(TextColumn("{task.fields[stats]}"))
    return columns


@contextmanager
def progress(
    console: Console | None, stats: bool = False, transient: bool = False
) -> Iterator[Progress | LineProgress]:
    """A rich bar when ``console`` is a terminal, else a :class:`LineProgress` on it."""
    if console is not None and not console.is_terminal:
        line = LineProgress(console)
        try:
            yield line
        finally:
            line.close()
        return
    with Progress(*bar_columns(stats), console=console, transient=transient) as bar:
        yield bar


@contextmanager
def loading(console: Console | None, what: str) -> Iterator[None]:
    """A spinner on a terminal; ``loading X`` / ``loaded X in 2.1 s`` lines in a log file."""
    if console is None:
        yield
        return
    if console.is_terminal:
        with console.status(f"loading {what}"):
            yield
        return
    started = time.monotonic()
    console.print(f"loading {what}", highlight=False, soft_wrap=True)
    yield
    took = time.monotonic() - started
    console.print(f"loaded {what} in {took:.1f} s", highlight=False, soft_wrap=True)


@dataclass
class _Task:
    description: str
    total: float | None
    completed: float
    fields: dict[str, Any]
    start_completed: float
    started: float = field(default_factory=time.monotonic)
    printed: float = 0.0
    printed_at: float | None = None  # ``completed`` when the last line was printed
    done_printed: bool = False


class LineProgress:
    """One readable line per task every ``every`` seconds, and one when it finishes."""

    def __init__(self, console: Console, every: float | None = None) -> None:
        self.console = console
        self.every = every if every is not None else _every_from_env()
        self._tasks: dict[int, _Task] = {}

    def add_task(
        self, description: str, total: float | None = None, completed: float = 0, **fields: Any
    ) -> int:
        task_id = len(self._tasks)
        self._tasks[task_id] = _Task(description, total, completed, dict(fields), completed)
        self._tasks[task_id].printed = time.monotonic()
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, completed=self._tasks[task_id].completed + advance)

    def update(
        self,
        task_id: int,
        *,
        completed: float | None = None,
        total: float | None = None,
        description: str | None = None,
        **fields: Any,
    ) -> None:
        task = self._tasks[task_id]
        if total is not None:
            task.total = total
        if description is not None:
            task.description = description
        if completed is not None:
            task.completed = completed
        task.fields.update(fields)
        finished = task.total is not None and task.completed >= task.total
        now = time.monotonic()
        if (finished and not task.done_printed) or now - task.printed >= self.every:
            self._print(task, now)
            task.done_printed = finished

    def remove_task(self, task_id: int) -> None:
        task = self._tasks.pop(task_id)
        if task.printed_at != task.completed and task.completed > task.start_completed:
            self._print(task, time.monotonic())

    def close(self) -> None:
        for task_id in list(self._tasks):
            self.remove_task(task_id)

    def _print(self, task: _Task, now: float) -> None:
        task.printed, task.printed_at = now, task.completed
        self.console.print(format_line(task, now), highlight=False, soft_wrap=True)


def format_line(task: _Task, now: float) -> str:
    """``label  120/600 (20%)  3.1/s  elapsed 0:00:39  ETA 0:02:35  loss 0.512``."""
    label = Text.from_markup(task.description).plain.strip() or "progress"
    parts = [label]
    if task.total:
        parts.append(
            f"{task.completed:g}/{task.total:g} ({100 * task.completed / task.total:.0f}%)"
        )
    else:
        parts.append(f"{task.completed:g}")
    elapsed = now - task.started
    rate = (task.completed - task.start_completed) / elapsed if elapsed > 0 else 0.0
    parts.append(f"{rate:.2f}/s")
    parts.append(f"elapsed {_clock(elapsed)}")
    if task.total and rate > 0 and task.completed < task.total:
        parts.append(f"ETA {_clock((task.total - task.completed) / rate)}")
    stats = task.fields.get("stats")
    if stats:
        parts.append(Text.from_markup(str(stats)).plain)
    return "  ".join(parts)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _every_from_env() -> float:
    raw = os.environ.get(EVERY_ENV)
    try:
        return float(raw) if raw else DEFAULT_EVERY
    except ValueError:
        return DEFAULT_EVERY
