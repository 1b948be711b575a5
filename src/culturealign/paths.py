"""Where culturealign keeps caches, and atomic writes so nothing is left half-written."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError


def cache_dir(*parts: str) -> Path:
    """Per-user cache (``$CULTUREALIGN_CACHE`` or the platform cache dir), created on demand."""
    root = os.environ.get("CULTUREALIGN_CACHE")
    if not root:
        from platformdirs import user_cache_dir

        root = user_cache_dir("culturealign")
    path = Path(root).joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove it is writable, or raise a clear error."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise CultureAlignError(
            f"cannot write to output directory {path}: {exc.strerror or exc}",
            "choose a directory you can write to (--out)",
        ) from exc
    return path


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling path; it replaces ``target`` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(target: Path, obj: Any) -> None:
    write_text_atomic(target, json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")
