"""The before/after table of a culturebank-sft run: each task's headline, base vs two-stage.

The grounded questions are compared item by item (paired bootstrap CI of the mean P(Yes)
difference, Wilcoxon signed-rank p). GlobalOpinionQA's 1 - JSD is a per-question aggregate and
CALI's F1 a whole-set statistic, so for those the table gives each model's estimate with its
own bootstrap CI and the difference of the point values (no paired test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from culturealign.layout import ITEMS_FILE, SUMMARY_FILE

GROUNDED = "culturebank-grounded"
LABELS = {"globalopinionqa": "GlobalOpinionQA", "cali": "CALI", GROUNDED: "CultureBank grounded"}


def compare(runs: dict[str, dict[str, Path]]) -> dict[str, Any]:
    """``runs[model][task]`` evaluation folders -> the table's numbers."""
    from culturealign.evaluation.records import read_summary

    out: dict[str, Any] = {"models": list(runs), "tasks": {}}
    for task in runs["base"]:
        summaries = {m: read_summary(runs[m][task] / SUMMARY_FILE) for m in runs}
        # The first table column the run reports (globalopinionqa lists unaware before aware;
        # an aware-only run has only the latter).
        columns, metrics = summaries["base"].table_columns, summaries["base"].metrics
        headline = next((c for c in columns if _estimate(metrics.get(c))), columns[0])
        row: dict[str, Any] = {"headline": headline}
        row |= {m: _estimate(s.metrics.get(headline)) for m, s in summaries.items()}
        if task == GROUNDED:
            row["change"] = _paired(runs["base"][task], runs["two-stage"][task])
        elif row["base"] and row["two-stage"]:
            row["change"] = {"value": row["two-stage"]["value"] - row["base"]["value"]}
        out["tasks"][task] = row
    return out


def _estimate(metric: Any) -> dict[str, float] | None:
    if isinstance(metric, dict) and "value" in metric:
        return {k: float(metric[k]) for k in ("value", "ci_low", "ci_high") if k in metric}
    return {"value": float(metric)} if isinstance(metric, int | float) else None


def _paired(base: Path, after: Path) -> dict[str, float]:
    """Mean P(Yes) change over the questions both runs answered, with CI and Wilcoxon p."""
    from culturealign.evaluation.records import read_items
    from culturealign.reports.stats import score_difference

    a = {r.id: float(r.get("p_yes")) for r in read_items(base / ITEMS_FILE)}
    b = {r.id: float(r.get("p_yes")) for r in read_items(after / ITEMS_FILE)}
    common = sorted(a.keys() & b.keys())
    diff, p = score_difference([a[i] for i in common], [b[i] for i in common])
    return diff.as_dict() | {"p": p, "n": len(common)}


def table_markdown(result: dict[str, Any]) -> str:
    """| task | metric | base | two-stage | change |, values with 95% CIs where known."""
    lines = ["| task | metric | base | two-stage | change |", "|---|---|---|---|---|"]
    for task, row in result["tasks"].items():
        change = row.get("change")
        text = _fmt(change, signed=True) if change else "—"
        if change and "p" in change:
            text += f", p={change['p']:.3g} (paired, n={change['n']})"
        cells = [LABELS.get(task, task), row["headline"], _fmt(row["base"]), _fmt(row["two-stage"])]
        lines.append("| " + " | ".join([*cells, text]) + " |")
    return "\n".join(lines) + "\n"


def _fmt(est: dict[str, float] | None, signed: bool = False) -> str:
    if not est:
        return "—"
    form = "{:+.3f}" if signed else "{:.3f}"
    text = form.format(est["value"])
    if "ci_low" in est:
        text += f" [{form.format(est['ci_low'])}, {form.format(est['ci_high'])}]"
    return text
