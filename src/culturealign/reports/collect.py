"""Read an experiment run folder back: the plan's grid, each cell's summary and item records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from culturealign.errors import CultureAlignError
from culturealign.evaluation.records import RunSummary, read_items, read_summary
from culturealign.layout import EVAL_STAGE, ITEMS_FILE, PLAN_FILE, STAGES_DIR, SUMMARY_FILE

ITEM_COLUMNS = ["id", "text", "target", "prediction", "correct"]


@dataclass
class CellResult:
    model: str
    row: str
    column: str
    reason: str | None = None  # why it has no result
    summary: RunSummary | None = None
    items: pd.DataFrame | None = None  # indexed by item id

    @property
    def ok(self) -> bool:
        return self.summary is not None

    def metric(self, name: str) -> dict[str, float] | None:
        return self.summary.metric(name) if self.summary else None

    @property
    def headline(self) -> str | None:
        """The task's first table column: ``accuracy`` for judgements, else e.g. ``average``."""
        return self.summary.table_columns[0] if self.summary else None


@dataclass
class RunResults:
    name: str
    path: Path
    description: str
    models: list[str]
    rows: list[dict[str, Any]]  # label, kind, shots (runs before 0.2 have no shots)
    columns: list[str]
    baseline: str | None  # the base row aligned rows are compared with (same shot count)
    notes: list[str]
    cells: dict[tuple[str, str, str], CellResult] = field(default_factory=dict)

    def cell(self, model: str, row: str, column: str) -> CellResult:
        return self.cells[model, row, column]

    @property
    def row_labels(self) -> list[str]:
        return [r["label"] for r in self.rows]

    @property
    def aligned_rows(self) -> list[str]:
        return [r["label"] for r in self.rows if r["kind"] == "aligned"]

    def headline(self, model: str, column: str) -> str:
        """A test set's headline metric (any finished cell's; ``accuracy`` if none is)."""
        cells = (self.cell(model, row, column) for row in self.row_labels)
        return next((c.headline for c in cells if c.headline), "accuracy")

    def kind(self, row: str) -> str:
        return str(next(r["kind"] for r in self.rows if r["label"] == row))

    def shots(self, row: str) -> int | None:
        return next((r.get("shots") for r in self.rows if r["label"] == row), None)


def load_run(path: Path) -> RunResults:
    """Load ``path`` (a folder written by ``culturealign run``); unfinished cells get a reason."""
    plan_file = path / PLAN_FILE
    if not plan_file.is_file():
        raise CultureAlignError(
            f"{path} is not an experiment run (no {PLAN_FILE})",
            "give the --out folder of `culturealign run`",
        )
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    run = RunResults(
        name=plan["name"],
        path=path,
        description=plan.get("description", ""),
        models=plan["models"],
        rows=plan["rows"],
        columns=plan["columns"],
        baseline=plan.get("baseline"),
        notes=plan.get("notes", []),
    )
    for c in plan["cells"]:
        run.cells[c["model"], c["row"], c["column"]] = _load_cell(path, c)
    return run


def _load_cell(path: Path, cell: dict[str, Any]) -> CellResult:
    result = CellResult(cell["model"], cell["row"], cell["column"], reason=cell.get("reason"))
    if cell.get("stage") is None:
        return result
    folder = path / STAGES_DIR / EVAL_STAGE / cell["stage"]
    summary_file = folder / SUMMARY_FILE
    if not summary_file.is_file():
        result.reason = "stage not finished: re-run `culturealign run` to complete it"
        return result
    result.summary = read_summary(summary_file)
    result.items = _item_frame(folder / ITEMS_FILE, result.summary.item_value)
    return result


def _item_frame(path: Path, value: str = "correct") -> pd.DataFrame:
    """The judgement columns of a cell's items, indexed by id, and ``value``: the per-item
    field whose mean is the cell's headline (NaN where unrated)."""
    rows = [
        {**{c: r.get(c) for c in ITEM_COLUMNS}, "value": r.get(value)} for r in read_items(path)
    ]
    frame = pd.DataFrame.from_records(rows, columns=[*ITEM_COLUMNS, "value"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    return frame.set_index("id").sort_index()
