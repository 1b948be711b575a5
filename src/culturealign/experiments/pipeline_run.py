"""What every ``kind:`` pipeline shares: reading its spec, and opening its run folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from culturealign.errors import CultureAlignError
from culturealign.experiments.cache import run_lock
from culturealign.paths import write_text_atomic

Spec = TypeVar("Spec", bound=BaseModel)


def load_pipeline_spec(path: Path, model: type[Spec], doc: str) -> Spec:
    """Read and validate a spec; one clear error naming the field otherwise (``doc`` in the fix)."""
    if not path.is_file():
        raise CultureAlignError(f"spec not found: {path}", "check the path")
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise CultureAlignError(f"{path} is not valid YAML: {exc}", "fix the syntax") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise CultureAlignError(f"{path}: {problems}", f"see {doc}") from exc


@contextmanager
def open_run(root: Path, spec_path: Path, restart: bool) -> Iterator[Path]:
    """The run folder, locked for this process, with the spec as given (emptied on restart)."""
    if restart and root.exists():
        shutil.rmtree(root)
    with run_lock(root):
        write_text_atomic(root / "spec.yaml", spec_path.read_text(encoding="utf-8"))
        yield root
