"""What an evaluation is: a dataset, a way to ask, a way to score, and metrics.

A task is a value built by a registered factory (``@task``), in the spirit of inspect_ai. The
CLI lists and builds tasks by name; inside the library, call the factories directly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from culturealign.evaluation.records import ItemRecord, Mode, RunSummary
from culturealign.models.base import ChoiceRequest, GenerationConfig, LanguageModel

__all__ = ["Mode", "Sample", "Scorer", "Task", "task"]


@dataclass(frozen=True)
class Sample:
    """One prompt to a model, with what scoring needs to judge the answer."""

    id: str
    request: ChoiceRequest  # prefix + text is the full prompt; choices used in "choice" mode
    target: Any
    meta: dict[str, Any] = field(default_factory=dict)
    # This item's sampling temperature (FastChat's per-category ones); None: the run's. A run
    # whose temperature departs from the task's default (--temperature) applies its own to all.
    temperature: float | None = None

    @property
    def prompt(self) -> str:
        return self.request.prefix + self.request.text


class Scorer(Protocol):
    mode: Mode

    def __call__(self, sample: Sample, output: Any) -> dict[str, Any]:
        """The task's fields of the item's record for ``output`` (choice log-probs or text)."""


@dataclass
class Task:
    """A runnable evaluation. ``samples`` renders prompts for a given model (chat template)."""

    name: str
    version: int
    args: dict[str, Any]
    samples: Callable[[LanguageModel], list[Sample]]
    scorer: Scorer
    metrics: Callable[[list[ItemRecord]], dict[str, Any]]
    dataset: dict[str, Any] = field(default_factory=dict)  # name, split, source, sha256, notes
    table_columns: tuple[str, ...] = ("accuracy",)
    generation: GenerationConfig | None = None  # the paper's sampling settings, if any
    # extra files written after the summary (lazily importing culturealign.reports)
    report: Callable[[Path, RunSummary], list[Path]] | None = None
    # The per-item field whose mean is the headline (table_columns[0]): experiment reports
    # compare two rows item by item on it. None marks an unrated item (left out).
    item_value: str = "correct"


TASKS: dict[str, Callable[..., Task]] = {}
TASK_VERSIONS: dict[str, int] = {}


def task(name: str, version: int) -> Callable[[Callable[..., Task]], Callable[..., Task]]:
    """Register a task factory under ``name``; bump ``version`` on any score-moving change."""

    def register(factory: Callable[..., Task]) -> Callable[..., Task]:
        @functools.wraps(factory)
        def build(**kwargs: Any) -> Task:
            built = factory(**kwargs)
            built.name, built.version = name, version
            return built

        TASKS[name] = build
        TASK_VERSIONS[name] = version
        return build

    return register
