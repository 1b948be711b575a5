"""Content-addressed stage outputs: a stage's folder is named by the hash of its inputs.

A stage (build pairs, train, evaluate) writes into ``<kind>/<key>.partial/`` and, when it has
finished, renames that folder to ``<kind>/<key>/`` (one atomic ``rename``). So:

* a finished folder is complete by construction: its existence is the cache hit;
* a killed stage leaves only ``.partial``, which the next run hands back to the same stage
  (evaluation resumes per item, training from its last checkpoint);
* changing any input or config value changes the key, so stale outputs are never reused,
  and an unchanged stage is never redone.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from culturealign.errors import CultureAlignError
from culturealign.paths import write_json_atomic

STAGE_FILE = "stage.json"


def stage_key(kind: str, inputs: dict[str, Any]) -> str:
    """A short stable hash of a stage's kind and inputs (canonical JSON, sorted keys)."""
    payload = json.dumps({"kind": kind, **inputs}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class StageResult(NamedTuple):
    path: Path
    cached: bool  # True when the output already existed and nothing ran


class StageStore:
    """The folder that holds every stage output of one run (or of several runs sharing it)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def final(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def partial(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.partial"

    def is_done(self, kind: str, key: str) -> bool:
        return (self.final(kind, key) / STAGE_FILE).is_file()

    def run(
        self,
        kind: str,
        key: str,
        inputs: dict[str, Any],
        work: Callable[[Path], None],
    ) -> StageResult:
        """Run ``work(partial_dir)`` unless the stage is done; then publish it atomically."""
        final = self.final(kind, key)
        if self.is_done(kind, key):
            return StageResult(final, cached=True)
        if final.exists():
            # A folder without stage.json cannot come from rename; someone else put it there.
            shutil.rmtree(final)
        partial = self.partial(kind, key)
        partial.mkdir(parents=True, exist_ok=True)
        work(partial)
        write_json_atomic(partial / STAGE_FILE, {"kind": kind, "key": key, "inputs": inputs})
        _fsync_dir(partial)
        os.rename(partial, final)
        _fsync_dir(final.parent)
        return StageResult(final, cached=False)


def _fsync_dir(path: Path) -> None:
    # The rename is the commit point; syncing the folder makes it survive a power cut too.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def run_lock(out_dir: Path) -> Iterator[None]:
    """One runner per output folder: two would race on the same partial stages."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise CultureAlignError(
                f"another `culturealign run` is using {out_dir}",
                "wait for it to finish, or use another --out",
            ) from exc
        yield
