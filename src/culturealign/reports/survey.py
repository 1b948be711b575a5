"""A survey run's report files: ``per_country.csv``, ``report.md`` and ``per_country.png``.

Written from the summary the runner hands over (the ``metrics`` that
:mod:`culturealign.evaluation.survey_summary` computed); nothing is read back from disk.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from culturealign.evaluation.records import RunSummary, percent
from culturealign.evaluation.survey_summary import PERSONAS
from culturealign.layout import PER_COUNTRY_CSV, PER_COUNTRY_PNG, REPORT_MD
from culturealign.paths import write_text_atomic


def write_survey_report(out_dir: Path, summary: RunSummary) -> list[Path]:
    """``per_country.csv``, ``report.md`` and ``per_country.png`` of a survey run's summary."""
    metrics = summary.metrics
    per_country = metrics.get("per_country", {})
    paths = [_write_csv(out_dir / PER_COUNTRY_CSV, per_country)]
    paths.append(out_dir / REPORT_MD)
    write_text_atomic(paths[-1], report_markdown(summary))
    png = out_dir / PER_COUNTRY_PNG
    if per_country and _bar_chart(png, per_country, metrics.get("primary", ""), summary):
        paths.append(png)
    return paths


def _write_csv(path: Path, per_country: dict[str, dict[str, dict[str, Any]]]) -> Path:
    names = sorted({k for rows in per_country.values() for v in rows.values() for k in v})
    lines: list[list[Any]] = [["persona", "country", *names]]
    for persona, rows in per_country.items():
        lines += [[persona, c, *(v.get(k) for k in names)] for c, v in rows.items()]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(lines)
    return path


def report_markdown(summary: RunSummary) -> str:
    """Per-country table (and aware - unaware gain), per-category table, Western vs rest."""
    m = summary.metrics
    primary = m.get("primary", "")
    per_country = m.get("per_country", {})
    title = f"# {summary.task.name} — {summary.model['name']}\n\n"
    parts = [title, f"Values are x100. Primary metric: {primary}.\n\n", "## Per country\n\n"]
    personas = list(per_country)
    gains = m.get("gain_per_country", {})
    head = ["country", *personas] + (["gain (aware - unaware)"] if gains else [])
    parts.append("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
    countries = list(dict.fromkeys(c for p in personas for c in per_country[p]))
    for c in countries:
        cells = [percent(per_country[p].get(c, {}).get(primary)) for p in personas]
        cells += [percent(gains.get(c))] if gains else []
        parts.append(f"| {c} | " + " | ".join(cells) + " |\n")
    parts += _correlation_section(m) + _cali_section(m)
    for persona, cats in m.get("per_category", {}).items():
        parts.append(f"\n## Per category ({persona})\n\n")
        parts.append(
            "| category | questions | culturespa | r | r pooled |\n|---|---|---|---|---|\n"
        )
        for cat, v in cats.items():
            cells = [percent(v["culturespa"]), percent(v["r"]), percent(v.get("r_pooled"))]
            parts.append(f"| {cat} | {v['questions']} | " + " | ".join(cells) + " |\n")
    for persona, groups in m.get("western_vs_rest", {}).items():
        parts.append(
            f"\n## Western vs non-Western ({persona})\n\n| metric | Western | rest | gap |\n"
        )
        parts.append("|---|---|---|---|\n")
        for metric, v in groups.items():
            cells = [percent(v[k]) for k in ("group", "rest", "difference")]
            parts.append(f"| {metric} | " + " | ".join(cells) + " |\n")
    return "".join(parts)


def _value(estimate: Any) -> Any:
    return estimate.get("value") if isinstance(estimate, dict) else estimate


def _correlation_section(m: dict[str, Any]) -> list[str]:
    """WVS: the headline r beside the pooled r, which a culture-blind model also scores high on."""
    personas = [p for p in PERSONAS if f"r_pooled_{p}" in m]
    if not personas:
        return []
    parts = [
        "\n## Mean-score correlations\n\n"
        "r = mean over countries of each country's Pearson r over its questions (headline); "
        "r pooled = over all (question, country) pairs; r centred = over pairs after "
        "subtracting each question's mean over countries (only this one needs answers that "
        "change with the country).\n\n| persona | r | r pooled | r centred |\n|---|---|---|---|\n"
    ]
    for p in personas:
        cells = [percent(_value(m.get(f"{k}_{p}"))) for k in ("r", "r_pooled", "r_centred")]
        parts.append(f"| {p} | " + " | ".join(cells) + " |\n")
    return parts


def _cali_section(m: dict[str, Any]) -> list[str]:
    """CALI: each F1 beside the floors a constant answer reaches and the in-sample F1."""
    rows = m.get("per_country", {}).get("aware", {})
    if not any("f1_all_not_entail" in v for v in rows.values()):
        return []
    parts = [
        f"\n## F1 and its floors\n\nF1: threshold chosen by {m.get('threshold_choice')}. "
        "Floors: macro-F1 of answering the same everywhere. In-sample: the original protocol, "
        "threshold chosen on the scored items (optimistic).\n\n"
        "| group | F1 | all not entail | all entail | in-sample F1 (t) | thresholds per fold |\n"
        "|---|---|---|---|---|---|\n"
    ]
    for group, v in rows.items():
        cells = [percent(v.get(k)) for k in ("f1", "f1_all_not_entail", "f1_all_entail")]
        cells.append(f"{percent(v.get('f1_threshold_on_test'))} ({v.get('threshold_on_test')})")
        cells.append(", ".join(str(t) for t in v.get("thresholds", [])))
        parts.append(f"| {group} | " + " | ".join(cells) + " |\n")
    return parts


def _bar_chart(
    path: Path, per_country: dict[str, dict[str, dict[str, Any]]], metric: str, summary: RunSummary
) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    personas = list(per_country)
    countries = list(dict.fromkeys(c for p in personas for c in per_country[p]))
    if not countries or not metric:
        return False
    width = 0.8 / len(personas)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(countries) * len(personas)), 4))
    for k, persona in enumerate(personas):
        values = [per_country[persona].get(c, {}).get(metric) for c in countries]
        heights = [100 * v if v is not None else 0.0 for v in values]
        xs = [i + (k - (len(personas) - 1) / 2) * width for i in range(len(countries))]
        ax.bar(xs, heights, width, label=f"culture-{persona}" if persona in PERSONAS else persona)
    ax.set_xticks(range(len(countries)), countries, rotation=90 if len(countries) > 20 else 45)
    ax.set_ylabel(f"{metric} (x100)")
    ax.set_title(f"{summary.task.name} — {summary.model['name']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
