"""Task lookup: the registered task factories, and building one from checked options.

Options come from the CLI (strings from ``-T key=value``) or a spec; unknown or missing ones
are CultureAlignErrors that name what the task takes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError
from culturealign.evaluation.task import TASKS, Task


def registered_tasks() -> dict[str, Callable[..., Task]]:
    """Every task factory by name, sorted; importing the built-in tasks registers them."""
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
