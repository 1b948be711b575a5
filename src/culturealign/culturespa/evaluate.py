"""Step 5: base vs adapters on the WVS-18 score, per country, with bootstrap CIs over questions.

Each model is scored by the existing ``wvs-culturespa`` task (culture-aware prompts) through the
evaluation runner, so its items are cached and a killed evaluation resumes per item. The table
is the paper's main table: CultureSPA score x100 per country and on average, and each adapter's
gain over the base, with 95% percentile CIs from one set of question resamples shared by all
models (paired: the gain's CI comes from the same draws).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from culturealign.data.survey import SurveySet
from culturealign.evaluation.metrics import percentile_ci, question_weights

RESAMPLES = 2000


def grids(survey: SurveySet, items: Path) -> np.ndarray:
    """(questions x countries) culture-aware answers of one run, NaN where unanswered."""
    row = {q.id: i for i, q in enumerate(survey.questions)}
    col = {c: j for j, c in enumerate(survey.countries)}
    grid = np.full((len(row), len(col)), np.nan)
    with items.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            meta = r.get("meta", r)
            qid, country = meta.get("question"), meta.get("country")
            answer = r.get("answer", r.get("score", {}).get("answer"))
            if qid in row and country in col and answer is not None:
                grid[row[qid], col[country]] = answer
    return grid


def gold(survey: SurveySet) -> tuple[np.ndarray, np.ndarray]:
    g = np.full((len(survey.questions), len(survey.countries)), np.nan)
    for i, q in enumerate(survey.questions):
        for j, c in enumerate(survey.countries):
            if c in q.majority:
                g[i, j] = int(q.labels[q.majority[c]])
    return g, np.array([len(q.options) for q in survey.questions], dtype=float)


def per_country(answers: np.ndarray, g: np.ndarray, n: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(draws x countries) CultureSPA scores x100 for question weights ``w`` (draws x questions)."""
    valid = ~np.isnan(answers) & ~np.isnan(g)
    d2 = np.where(valid, (np.nan_to_num(answers) - np.nan_to_num(g)) ** 2, 0.0)
    n2 = np.where(valid, ((1.0 - n) ** 2)[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (1.0 - np.sqrt(w @ d2) / np.sqrt(w @ n2))


def _est(point: float, draws: np.ndarray) -> dict[str, float | None]:
    value, low, high = percentile_ci(point, draws)
    return {
        k: (None if math.isnan(v) else round(v, 2))
        for k, v in {"value": value, "ci_low": low, "ci_high": high}.items()
    }


def compare(survey: SurveySet, runs: dict[str, Path], base: str, seed: int = 0) -> dict[str, Any]:
    """Per-country and average scores of each run, and gains over ``base``, with CIs."""
    g, n = gold(survey)
    w = question_weights(len(survey.questions), RESAMPLES, seed)
    ones = np.ones((1, len(survey.questions)))
    out: dict[str, Any] = {"countries": list(survey.countries), "base": base, "models": {}}
    scored = {}
    for name, items in runs.items():
        a = grids(survey, items)
        scored[name] = (per_country(a, g, n, ones)[0], per_country(a, g, n, w))
    for name, (point, draws) in scored.items():
        entry = _summary(survey, point, draws)
        if name != base:
            bp, bd = scored[base]
            entry["gain"] = _summary(survey, point - bp, draws - bd)
        out["models"][name] = entry
    return out


def _summary(survey: SurveySet, point: np.ndarray, draws: np.ndarray) -> dict[str, Any]:
    with np.errstate(invalid="ignore"):
        avg_point = float(np.nanmean(point))
        avg_draws = np.nanmean(draws, axis=1)
    cells = {c: _est(float(point[j]), draws[:, j]) for j, c in enumerate(survey.countries)}
    return {"per_country": cells, "avg": _est(avg_point, avg_draws)}


def _cell(e: dict[str, Any] | None, signed: bool = False) -> str:
    if not e or e["value"] is None:
        return "-"
    fmt = "{:+.1f}" if signed else "{:.1f}"
    return f"{fmt.format(e['value'])} [{e['ci_low']:.1f}, {e['ci_high']:.1f}]"


def table_markdown(result: dict[str, Any]) -> str:
    """Rows: models (score) and their gains over the base; columns: countries then Avg."""
    cols = [*result["countries"], "Avg"]
    lines = ["| model | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in result["models"].items():
        cells = [_cell(m["per_country"].get(c)) for c in result["countries"]] + [_cell(m["avg"])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        if "gain" in m:
            g = m["gain"]
            cells = [_cell(g["per_country"].get(c), True) for c in result["countries"]]
            lines.append(
                f"| {name} - {result['base']} | "
                + " | ".join([*cells, _cell(g["avg"], True)])
                + " |"
            )
    return "\n".join(lines) + "\n"
