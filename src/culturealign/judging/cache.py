"""A judge's answers kept on disk, keyed by what determines them, so reruns skip them.

One JSON object a line (``key``, then the judgement's fields), appended and fsynced per batch;
a torn last line from a killed run is dropped on load, and its judgement is redone.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from culturealign.paths import ensure_writable_dir


def judgement_key(*parts: Any) -> str:
    """sha256 of the JSON of ``parts`` (judge identity, prompt, settings)."""
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    """Append-only JSONL of judgements; ``None`` path keeps them in memory only."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        valid = 0
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            if not line.endswith("\n"):
                break
            self.entries[row.pop("key")] = row
            valid += len(line.encode("utf-8"))
        with path.open("r+b") as fh:
            fh.truncate(valid)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def put_many(self, rows: dict[str, dict[str, Any]]) -> None:
        self.entries.update(rows)
        if self.path is None or not rows:
            return
        ensure_writable_dir(self.path.parent)
        with self.path.open("a", encoding="utf-8") as fh:
            for key, row in rows.items():
                fh.write(json.dumps({"key": key, **row}, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
