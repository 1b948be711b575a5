"""Find a dataset file: explicit path, then $CULTUREALIGN_DATA, then the cache, then download.

Every file has a canonical public source, so users with internet need nothing else; offline
users (and CI) point ``CULTUREALIGN_DATA`` at a folder with the same layout as ``shared/data``.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from culturealign.errors import CultureAlignError
from culturealign.paths import atomic_path, cache_dir

ENV_VAR = "CULTUREALIGN_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """A dataset file: where it sits under a data root, and where it can be downloaded."""

    relpath: str  # e.g. "jcm/data_test.csv"
    url: str
    tar_member: str | None = None  # the file lives inside a tar archive at ``url``


def locate(remote: RemoteFile, explicit: Path | None = None, download: bool = True) -> Path:
    """Return a local path for ``remote``, downloading it into the cache if needed."""
    if explicit is not None:
        path = explicit / Path(remote.relpath).name if explicit.is_dir() else explicit
        if not path.is_file():
            raise CultureAlignError(
                f"data file not found: {path}", "check the --data-path you gave"
            )
        return path
    candidates = []
    if os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]) / remote.relpath)
    cached = cache_dir("data") / remote.relpath
    candidates.append(cached)
    for path in candidates:
        if path.is_file():
            return path
    if download:
        try:
            _download(remote, cached)
            return cached
        except OSError as exc:
            reason = str(exc)
    else:
        reason = "download disabled"
    raise CultureAlignError(
        f"dataset file {remote.relpath} is missing and could not be downloaded ({reason})",
        f"put it at ${ENV_VAR}/{remote.relpath} (set {ENV_VAR} to your data folder), "
        f"or download {remote.url} to {cached}",
    )


def _download(remote: RemoteFile, target: Path) -> None:
    with urllib.request.urlopen(remote.url, timeout=60) as resp:  # noqa: S310 (fixed https URLs)
        payload = resp.read()
    if remote.tar_member:
        with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
            member = tar.extractfile(remote.tar_member)
            if member is None:
                raise OSError(f"{remote.tar_member} not in {remote.url}")
            payload = member.read()
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
