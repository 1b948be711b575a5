"""Evaluation: tasks (dataset + prompt + scorer + metrics), a resumable runner, metrics.

This module only re-exports: task lookup is in :mod:`.registry`, the progress-bar run in
:mod:`.progress_bar`, the resumable loop in :mod:`.runner`.
"""

from __future__ import annotations

from culturealign.evaluation.progress_bar import run_with_progress
from culturealign.evaluation.registry import build_task, registered_tasks
from culturealign.evaluation.task import Sample, Task, task

__all__ = ["Sample", "Task", "build_task", "registered_tasks", "run_with_progress", "task"]
