"""Progress of a run: an overall bar over stages and one for the current stage's items
(lines in a log file, see culturealign.progress)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import Progress

from culturealign.experiments.plan import Stage
from culturealign.progress import LineProgress, progress


class StageProgress:
    """Shows ``stages k/n`` and the running stage; logs each finished stage as a line."""

    def __init__(self, console: Console, bar: Progress | LineProgress) -> None:
        self._console, self._progress = console, bar
        self._overall: Any = None  # task ids of the bar
        self._current: Any = None

    @property
    def console(self) -> Console:
        return self._console

    def stage_started(self, stage: Stage, index: int, total: int) -> None:
        if self._overall is None:
            self._overall = self._progress.add_task("", total=total)
        description = f"[bold]stage {index + 1}/{total}[/] {stage.label}"
        self._progress.update(self._overall, completed=index, description=description)
        self._clear_current()

    def stage_finished(self, stage: Stage, cached: bool) -> None:
        self._clear_current()
        state = "[dim]cached[/]" if cached else "[green]done[/]"
        self._console.print(f"{state}  {stage.label}")
        if self._overall is not None:
            self._progress.advance(self._overall)

    def items(self, total: int, done: int) -> Callable[[int], None]:
        self._clear_current()
        task: Any = self._progress.add_task("  items", total=total, completed=done)
        self._current = task
        return lambda n: self._progress.advance(task, n)

    def _clear_current(self) -> None:
        if self._current is not None:
            self._progress.remove_task(self._current)
            self._current = None


@contextmanager
def stage_progress(console: Console) -> Iterator[StageProgress]:
    with progress(console, transient=True) as bar:
        yield StageProgress(console, bar)
