"""Japanese MT-Bench reports: the Table 5 layout, a radar chart, and base-vs-aligned pairwise.

Table 5 of Jinnai (2024) lists, per model, the mean turn-1 score (1-10) of each category and
their average. Here each cell is ``mean [95% bootstrap CI]`` over the questions with a rating.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from culturealign.evaluation.records import RunSummary, read_items, read_summary
from culturealign.layout import ITEMS_FILE, SUMMARY_FILE
from culturealign.paths import atomic_path, write_text_atomic

TABLE_FILE = "table5.md"
RADAR_FILE = "radar.png"
PAIRWISE_FILE = "pairwise.md"
PAIRWISE_ITEMS = "pairwise.jsonl"


def _label(summary: RunSummary) -> str:
    return str(summary.model["name"]) + (" + adapter" if summary.model.get("adapter") else "")


def _cell(est: dict[str, Any] | None) -> str:
    if not est or est.get("value") is None:
        return "—"
    return f"{est['value']:.2f} [{est['ci_low']:.2f}, {est['ci_high']:.2f}]"


def table5_markdown(summaries: Sequence[RunSummary]) -> str:
    """One row per run: Average then each category (Table 5 order), and the judge failures."""
    cats: list[str] = []
    for s in summaries:
        cats += [c for c in s.metrics["table5"] if c != "average" and c not in cats]
    head = ["model", "judge", "n", "Average", *[c.capitalize() for c in cats], "no rating"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        table = s.metrics["table5"]
        judge = s.task.args.get("judge") or "self"
        fail = s.metrics["failure_rate"]["value"]
        cells = [_label(s), judge, str(s.n_items), _cell(table.get("average"))]
        cells += [_cell(table.get(c)) for c in cats]
        lines.append("| " + " | ".join([*cells, f"{100 * fail:.1f}%"]) + " |")
    return "\n".join(lines) + "\n"


def _value(est: dict[str, Any] | None) -> float:
    value = (est or {}).get("value")
    return 0.0 if value is None else float(value)  # no rating at all is drawn at 0


def radar_png(summaries: Sequence[RunSummary]) -> bytes:
    """Per-category means on a 0-10 radar, one polygon per run (FastChat's plot, as PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cats = sorted({c for s in summaries for c in s.metrics["table5"] if c != "average"})
    angles = np.linspace(0, 2 * np.pi, len(cats), endpoint=False).tolist()
    fig, ax = plt.subplots(figsize=(5.5, 5.5), subplot_kw={"polar": True})
    for s in summaries:
        table = s.metrics["table5"]
        values = [_value(table.get(c)) for c in cats]
        ax.plot([*angles, angles[0]], [*values, values[0]], linewidth=1.5, label=_label(s))
        ax.fill([*angles, angles[0]], [*values, values[0]], alpha=0.12)
    ax.set_xticks(angles, [c.capitalize() for c in cats])
    ax.set_ylim(0, 10)
    ax.set_title("Japanese MT-Bench (turn 1, 1-10)")
    ax.legend(loc="lower right", bbox_to_anchor=(1.25, -0.12), fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_run_report(out_dir: Path, summary: RunSummary) -> list[Path]:
    """``table5.md`` and ``radar.png`` beside a finished run's summary."""
    write_text_atomic(out_dir / TABLE_FILE, table5_markdown([summary]))
    with atomic_path(out_dir / RADAR_FILE) as tmp:
        tmp.write_bytes(radar_png([summary]))
    return [out_dir / TABLE_FILE, out_dir / RADAR_FILE]


def is_mt_bench_run(run: Path) -> bool:
    path = run / SUMMARY_FILE
    return path.is_file() and read_summary(path).task.name == "mt-bench-ja"


def compare_runs(
    run_a: Path,
    run_b: Path,
    judge_spec: str | None,
    out_dir: Path,
    threads: int | None = None,
    max_new_tokens: int = 1024,
) -> Path:
    """Pairwise (pair-v2, both orders) of two mt-bench-ja runs' turn-1 answers, plus both
    runs' Table 5 and radar; judgements cached in ``pairwise.jsonl`` (a rerun resumes)."""
    from culturealign.errors import CultureAlignError
    from culturealign.judging.cache import JudgeCache
    from culturealign.judging.judges import Judge
    from culturealign.judging.prompts import PAIR_V2

    summaries = [read_summary(r / SUMMARY_FILE) for r in (run_a, run_b)]
    items = [{r.id: r for r in read_items(run / ITEMS_FILE)} for run in (run_a, run_b)]
    shared = [i for i in items[0] if i in items[1]]
    if not shared:
        raise CultureAlignError(
            f"{run_a} and {run_b} share no questions", "compare runs of one question set"
        )
    model = summaries[0].model
    spec = judge_spec or summaries[0].task.args.get("judge")
    spec = spec or (model["path"] if Path(model["path"]).exists() else model["name"])
    from culturealign.models import load_model

    judge = Judge(
        load_model(spec, threads=threads),
        max_new_tokens,
        JudgeCache(out_dir / PAIRWISE_ITEMS),
    )
    asks = [
        {
            "question": items[0][i].get("turns")[0],
            "answer_x": items[0][i].get("answers")[0],
            "answer_y": items[1][i].get("answers")[0],
        }
        for i in shared
    ]
    results = judge.pairwise(PAIR_V2, asks)
    wins = sum(r["winner"] == "x" for r in results)
    losses = sum(r["winner"] == "y" for r in results)
    ties = len(results) - wins - losses
    inconsistent = sum(not r["consistent"] for r in results)
    a, b = (_label(s) for s in summaries)
    text = (
        f"# Japanese MT-Bench: {a} vs {b}\n\n"
        f"Pairwise judge: {judge.name} (FastChat pair-v2, each question asked in both orders; "
        "a win needs both orders to agree, anything else is a tie).\n\n"
        "| run A | run B | questions | A wins | ties | B wins | A win rate | inconsistent |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"| {a} | {b} | {len(results)} | {wins} | {ties} | {losses} | "
        f"{100 * (wins + 0.5 * ties) / len(results):.1f}% | {inconsistent} |\n\n"
        "## Single-answer grading (Table 5 layout)\n\n" + table5_markdown(summaries)
    )
    per_item = [{"id": i, **r} for i, r in zip(shared, results, strict=True)]
    write_text_atomic(
        out_dir / "pairwise_items.json", json.dumps(per_item, ensure_ascii=False, indent=1)
    )
    with atomic_path(out_dir / RADAR_FILE) as tmp:
        tmp.write_bytes(radar_png(summaries))
    write_text_atomic(out_dir / PAIRWISE_FILE, text)
    return out_dir / PAIRWISE_FILE
