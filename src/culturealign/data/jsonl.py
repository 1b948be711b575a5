"""One JSON object per line: the parse step every JSONL reader shares; errors name the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError


def json_object(line: str, path: Path, line_no: int, example: str) -> dict[str, Any]:
    """Line ``line_no`` of ``path`` as a JSON object; ``example`` shows the expected shape."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CultureAlignError(
            f"{path}:{line_no}: not valid JSON ({exc.msg})", "fix or remove the line"
        ) from exc
    if not isinstance(record, dict):
        raise CultureAlignError(
            f"{path}:{line_no}: expected a JSON object, got {type(record).__name__}",
            f"write one object per line, e.g. {example}",
        )
    return record
