"""Per-sentence translation cache: one append-only JSONL file per translator setting.

The file is named by the hash of the translator's identity (model, direction, decoding
settings); each line maps a source sentence to its translation. Every run and every dataset
with the same translator reads and appends the same file, so no sentence is translated twice.
Lines are appended and fsynced per batch: a kill -9 loses at most the batch in flight, and a
torn last line is ignored on the next read.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from culturealign.paths import cache_dir


def identity_key(identity: dict[str, Any]) -> str:
    payload = json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


class TranslationCache:
    """``source text -> translation`` for one translator identity, persisted as JSONL."""

    def __init__(self, identity: dict[str, Any], root: Path | None = None) -> None:
        self.identity = identity
        self.path = (root or cache_dir("translations")) / f"{identity_key(identity)}.jsonl"
        self.entries: dict[str, str] = {}
        self._read()

    def _read(self) -> None:
        if not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(
                json.dumps({"identity": self.identity}, ensure_ascii=False, default=str) + "\n",
                encoding="utf-8",
            )
            return
        with self.path.open("rb+") as raw:
            raw.seek(0, os.SEEK_END)
            if raw.tell() and (raw.seek(-1, os.SEEK_END) or raw.read(1) != b"\n"):
                raw.write(b"\n")  # end a line torn by a kill, so the next append is whole
        with self.path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a kill: that sentence is translated again
                if "source" in row:
                    self.entries[row["source"]] = row["translation"]

    def get(self, text: str) -> str | None:
        return self.entries.get(text)

    def add(self, pairs: dict[str, str]) -> None:
        """Append new translations in one write, flushed to disk before returning."""
        if not pairs:
            return
        lines = "".join(
            json.dumps({"source": s, "translation": t}, ensure_ascii=False) + "\n"
            for s, t in pairs.items()
        )
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
        self.entries.update(pairs)
