"""Spec kinds: the alignment grid (the default) or a pipeline with its own runner.

A spec's top-level ``kind`` picks who runs it: ``grid`` (models x training sets x evaluations,
:mod:`culturealign.experiments.executor`) or a named pipeline whose module exposes
``run_spec(path, out_dir, report, restart, console)``. ``culturealign run`` dispatches here, so
every pipeline gets the same command, run folder and resume rules.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from culturealign.errors import CultureAlignError

GRID = "grid"
PIPELINES = {
    "culturespa": "culturealign.culturespa.pipeline",
    "wvs-study": "culturealign.wvs_study.pipeline",
    "culturebank-sft": "culturealign.culturebank_sft.pipeline",
}


def spec_kind(path: Path) -> str:
    """The ``kind`` a spec file declares (``grid`` when it declares none)."""
    if not path.is_file():
        return GRID  # load_spec gives the clear "not found" error
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return GRID  # load_spec reports the syntax error with its position
    kind = raw.get("kind", GRID) if isinstance(raw, dict) else GRID
    if kind != GRID and kind not in PIPELINES:
        raise CultureAlignError(
            f"{path}: unknown kind {kind!r}", f"kind is one of: {', '.join([GRID, *PIPELINES])}"
        )
    return str(kind)


def run_pipeline(
    kind: str, path: Path, out_dir: Path | None, report: bool, restart: bool, console: Any
) -> None:
    """Run a non-grid spec through its pipeline module."""
    module = importlib.import_module(PIPELINES[kind])
    module.run_spec(path, out_dir, report, restart, console)
