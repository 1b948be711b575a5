"""An append-only JSONL of finished work units keyed by ``key``: the resume record of a long run.

Each unit is appended and flushed to disk when done; a kill mid-write leaves at most one torn
last line, which is dropped (and truncated away) on the next open, so that unit is redone and
nothing finished is redone. A header row pins the settings: resuming with other settings is an
error rather than a silent mix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError


class WorkLog:
    def __init__(self, path: Path, settings: dict[str, Any]) -> None:
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"settings": settings}
        if path.is_file():
            rows, good_bytes = _read(path)
            if rows and rows[0] != header:
                raise CultureAlignError(
                    f"{path} was written with other settings: {rows[0].get('settings')}",
                    "use the same options to resume, or delete the file (or pick another --out)",
                )
            with path.open("r+b") as fh:
                fh.truncate(good_bytes)  # drop a torn last line
            self.done = {r["key"]: r for r in rows[1:]}
            if rows:
                return
        with path.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(header, ensure_ascii=False) + "\n")

    def append(self, rows: Iterable[dict[str, Any]]) -> None:
        """Record finished units (each with a ``key``), durably."""
        rows = list(rows)
        with self.path.open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.done.update((r["key"], r) for r in rows)


def _read(path: Path) -> tuple[list[dict[str, Any]], int]:
    rows, good = [], 0
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            try:
                rows.append(json.loads(raw))
            except json.JSONDecodeError:
                break
            good += len(raw)
    return rows, good
