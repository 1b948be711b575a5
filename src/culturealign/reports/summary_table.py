"""``results.md``: evaluation summaries as one Markdown table (also printed by ``eval``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from culturealign.evaluation.records import RunSummary, format_estimate


def markdown_table(summaries: Sequence[RunSummary | Mapping[str, Any]]) -> str:
    """One row per summary; metric cells are value [95% CI] in percent."""
    typed = [s if isinstance(s, RunSummary) else RunSummary.model_validate(s) for s in summaries]
    columns: list[str] = []
    for s in typed:
        columns += [c for c in s.table_columns if c not in columns]
    head = ["task", "model", "mode", "n", *columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in typed:
        model = s.model["name"] + (" + adapter" if s.model.get("adapter") else "")
        args = s.task.args
        how = [f"{args['shots']}-shot"] if args.get("shots") is not None else []
        how += [args["protocol"]] if args.get("protocol") else []
        name = s.task.name + (f" ({', '.join(how)})" if how else "")
        cells = [name, model, s.mode, str(s.n_items)]
        cells += [format_estimate(s.metrics.get(c)) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
