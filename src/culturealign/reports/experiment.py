"""Write an experiment's report (Markdown + self-contained HTML + heatmap PNG + flips CSV).

One list of blocks feeds both renderers, so the Markdown and the HTML always say the same.
The report depends only on the results (no timestamps, no machine paths): an interrupted and
resumed run writes the very same report as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from culturealign.errors import CultureAlignError
from culturealign.evaluation.records import format_estimate
from culturealign.layout import FLIPS_CSV, HEATMAP_PNG, REPORT_HTML, REPORT_MD
from culturealign.paths import atomic_path, write_text_atomic
from culturealign.reports.collect import RunResults, load_run
from culturealign.reports.plots import heatmap_png
from culturealign.reports.render import html_image, html_page, html_table, md_table
from culturealign.reports.stats import rank_marks
from culturealign.reports.tables import (
    Fmt,
    Table,
    bias_table,
    change_table,
    flip_tables,
    flips,
    significance_table,
    study_table,
)


@dataclass(frozen=True)
class Block:
    kind: str  # "h" | "p" | "table" | "image"
    text: str = ""
    level: int = 2
    table: Table | None = None
    png: bytes = b""


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    html: Path
    heatmap: Path | None
    flips: Path | None


def write_experiment_report(run_dirs: list[Path], out_dir: Path | None = None) -> ReportFiles:
    """Report one run (into its own folder) or several side by side (into ``out_dir``)."""
    if not run_dirs:
        raise CultureAlignError("no run folder given", "culturealign report runs/demo")
    runs = [load_run(p) for p in run_dirs]
    if len(runs) == 1:
        return _write(runs[0].path if out_dir is None else out_dir, *_single(runs[0]))
    names = _run_names(run_dirs)
    target = out_dir or run_dirs[0].parent / ("compare-" + "-".join(names))
    return _write(target, *_compare(runs, names))


def _single(run: RunResults, level: int = 1) -> tuple[list[Block], bytes, pd.DataFrame]:
    png = heatmap_png(run)
    flipped = pd.concat([flips(run, m) for m in run.models], ignore_index=True)
    blocks = [Block("h", f"Experiment {run.name}", level)]
    if run.description:
        blocks.append(Block("p", run.description))
    blocks += [Block("h", "Results", level + 1)]
    blocks += [Block("table", table=study_table(run, m), level=level + 2) for m in run.models]
    blocks += [Block("image", "accuracy heatmap: training set x test set", png=png)]
    for model in run.models:
        blocks.append(Block("h", f"Details: {model}", level + 1))
        change = change_table(run, model)
        tables = [change] if change else []
        tables += [significance_table(run, model), bias_table(run, model)]
        tables += flip_tables(run, model, flipped[flipped["model"] == model])
        blocks += [Block("table", table=t, level=level + 2) for t in tables]
    blocks += [Block("h", "Setup", level + 1), Block("table", table=_setup(run), level=level + 2)]
    blocks += [Block("p", f"Note: {n}") for n in run.notes]
    return blocks, png, flipped


def _setup(run: RunResults) -> Table:
    """What each cell measured: task, version, split, items, shots (from the first model)."""
    body = []
    for row in run.row_labels:
        for col in run.columns:
            cell = run.cell(run.models[0], row, col)
            if not cell.ok:
                continue
            assert cell.summary is not None
            task, data = cell.summary.task, cell.summary.dataset
            body.append(
                [Fmt(row), Fmt(col), Fmt(f"{task.name} v{task.version}"),
                 Fmt(f"{data['name']}/{data.get('split', '-')}"), Fmt(str(cell.summary.n_items)),
                 Fmt(str(task.args.get("shots"))), Fmt(str(task.args.get("prompt_language"))),
                 Fmt(cell.summary.mode), Fmt(str(data.get("sha256", ""))[:12])]
            )  # fmt: skip
    return Table(
        "What was measured",
        [
            "training set",
            "test set",
            "task",
            "data",
            "items",
            "shots",
            "prompt",
            "mode",
            "data sha256",
        ],
        body,
    )


def _compare(
    runs: list[RunResults], names: list[str]
) -> tuple[list[Block], bytes | None, pd.DataFrame]:
    blocks = [Block("h", "Comparison of runs: " + ", ".join(names), 1)]
    models = list(dict.fromkeys(m for r in runs for m in r.models))
    blocks += [Block("table", table=_side_by_side(runs, names, m), level=2) for m in models]
    frames = []
    for run, name in zip(runs, names, strict=True):
        sub, _, flipped = _single(run, level=2)
        blocks += [Block("h", f"Run {name}", 1), *sub]
        frames.append(flipped.assign(run=name))
    return blocks, None, pd.concat(frames, ignore_index=True)


def _side_by_side(runs: list[RunResults], names: list[str], model: str) -> Table:
    rows = list(dict.fromkeys(r for run in runs if model in run.models for r in run.row_labels))
    header, columns = ["training set"], []
    for run, name in zip(runs, names, strict=True):
        for col in run.columns:
            header.append(f"{name}: {col}")
            cells = [
                run.cells.get((model, row, col)) if model in run.models else None for row in rows
            ]
            metrics = [c.metric("accuracy") if c else None for c in cells]
            marks = rank_marks([m["value"] if m else None for m in metrics])
            columns.append(
                [Fmt(format_estimate(m), k) if m else Fmt("—" if c is None else "not run")
                 for c, m, k in zip(cells, metrics, marks, strict=True)]
            )  # fmt: skip
    body = [[Fmt(row), *(c[i] for c in columns)] for i, row in enumerate(rows)]
    return Table(f"{model}: accuracy (%) with 95% CI, side by side", header, body)


def _run_names(paths: list[Path]) -> list[str]:
    names = [p.resolve().name for p in paths]
    if len(set(names)) < len(names):
        names = [f"{n}#{i + 1}" for i, n in enumerate(names)]
    return names


def _write(
    out_dir: Path, blocks: list[Block], png: bytes | None, flipped: pd.DataFrame
) -> ReportFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    heatmap = out_dir / HEATMAP_PNG if png else None
    if heatmap and png:
        with atomic_path(heatmap) as tmp:
            tmp.write_bytes(png)
    flips_path = out_dir / FLIPS_CSV
    write_text_atomic(flips_path, flipped.to_csv(index=False))
    md, page = _markdown(blocks, heatmap), _html(blocks)
    write_text_atomic(out_dir / REPORT_MD, md)
    write_text_atomic(out_dir / REPORT_HTML, page)
    return ReportFiles(out_dir / REPORT_MD, out_dir / REPORT_HTML, heatmap, flips_path)


def _markdown(blocks: list[Block], heatmap: Path | None) -> str:
    parts = []
    for b in blocks:
        if b.kind == "h":
            parts.append(f"{'#' * b.level} {b.text}\n")
        elif b.kind == "p":
            parts.append(b.text + "\n")
        elif b.kind == "table" and b.table is not None:
            parts.append(md_table(b.table, b.level))
        elif b.kind == "image":
            # The side-by-side report has one image per run; Markdown links only the main one.
            parts.append(f"![{b.text}]({heatmap.name})\n" if heatmap else "")
    return "\n".join(p for p in parts if p)


def _html(blocks: list[Block]) -> str:
    title = next((b.text for b in blocks if b.kind == "h"), "culturealign report")
    body = []
    for b in blocks:
        if b.kind == "h":
            body.append(f"<h{b.level}>{_esc(b.text)}</h{b.level}>")
        elif b.kind == "p":
            body.append(f"<p>{_esc(b.text)}</p>")
        elif b.kind == "table" and b.table is not None:
            body.append(html_table(b.table, b.level))
        elif b.kind == "image":
            body.append(html_image(b.png, b.text))
    return html_page(title, body)


def _esc(text: str) -> str:
    import html

    return html.escape(text)
