"""The WVS study's figures over several models (Kim & Baek 2024, arXiv 2412.08846).

From each model's culture-aware item records: Pearson r of model vs human mean scores per
category and per country, the Western minus non-Western gap of the per-country r with a
bootstrap interval, and a models x categories heatmap. Statistics as in the survey task
(docs/tasks/survey.md): per-country r over the country's questions, a category's r = mean of
the per-country r over its questions (unweighted mean: our aggregation).

The gap's interval resamples questions (2,000 draws, seed 0; the survey task's convention): the
per-country r and the gap are recomputed in every draw.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from culturealign.data.survey import SurveySet
from culturealign.evaluation.metrics import percentile_ci, question_weights
from culturealign.evaluation.records import SurveyItem, as_items
from culturealign.evaluation.wvs_metrics import (
    MeanPair,
    compare_groups,
    mean_score,
    normalised_mean,
    wvs_correlations,
)
from culturealign.paths import atomic_path, write_json_atomic, write_text_atomic

NO_CATEGORY = "(no WorldValuesBench category)"


def mean_pairs(records: Iterable[Any], survey: SurveySet) -> list[MeanPair]:
    """Model and human mean score (0..1) of every culture-aware (question, country) record."""
    questions = {q.id: q for q in survey.questions}
    out = []
    for r in as_items(records, SurveyItem):
        q = questions.get(r.question)
        if q is None or r.persona != "aware" or r.country not in q.distributions:
            continue
        probs = r.probs
        if probs is None and r.prediction is not None:
            probs = [float(i == r.prediction) for i in range(len(q.options))]
        if probs is None:
            continue
        model = normalised_mean(mean_score(probs, q.scores), q.scale)
        human = normalised_mean(mean_score(q.distributions[r.country], q.scores), q.scale)
        if math.isfinite(model) and math.isfinite(human):
            out.append(MeanPair(q.id, r.country, q.category, model, human))
    return out


def per_country_r_draws(pairs: Sequence[MeanPair], countries: Sequence[str]) -> np.ndarray:
    """Per-country r for each bootstrap draw of questions: (draws + 1) x countries, row 0 = data."""
    qids = sorted({p.question for p in pairs})
    qi = {q: i for i, q in enumerate(qids)}
    ci = {c: j for j, c in enumerate(countries)}
    model = np.full((len(qids), len(countries)), np.nan)
    human = np.full_like(model, np.nan)
    for p in pairs:
        if p.country in ci:
            model[qi[p.question], ci[p.country]] = p.model
            human[qi[p.question], ci[p.country]] = p.human
    weights = np.vstack([np.ones(len(qids)), question_weights(len(qids))])
    valid = np.isfinite(model) & np.isfinite(human)
    x, y = np.where(valid, model, 0.0), np.where(valid, human, 0.0)
    n, sx, sy, sxx, syy, sxy = (weights @ a for a in (valid * 1.0, x, y, x * x, y * y, x * y))
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    ok = (n >= 3) & (vx > 1e-12 * n * sxx) & (vy > 1e-12 * n * syy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, (n * sxy - sx * sy) / np.sqrt(np.where(ok, vx * vy, 1.0)), np.nan)


def western_gap(
    pairs: Sequence[MeanPair], countries: Sequence[str], western: Iterable[str]
) -> dict[str, Any]:
    """Mean per-country r of Western minus other countries, with its 95% bootstrap interval."""
    west = set(western)
    cols = np.array([c in west for c in countries])
    if not cols.any() or cols.all():
        return {"value": None, "ci_low": None, "ci_high": None, "western": None, "rest": None}
    draws = per_country_r_draws(pairs, countries)
    with np.errstate(invalid="ignore"), _quiet():
        gap = np.nanmean(draws[:, cols], axis=1) - np.nanmean(draws[:, ~cols], axis=1)
    point = compare_groups(dict(zip(countries, draws[0], strict=True)), west)
    value, low, high = percentile_ci(float(gap[0]), gap[1:])
    return {"value": value, "ci_low": low, "ci_high": high, "western": point.group,
            "rest": point.rest}  # fmt: skip


class _quiet:
    """Silence numpy's 'mean of empty slice' for draws where a group has no r."""

    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def model_figures(
    pairs: Sequence[MeanPair], countries: Sequence[str], western: Iterable[str]
) -> dict[str, Any]:
    """One model's r (mean of per-country r), per category, per country and Western gap."""
    overall = wvs_correlations(pairs)
    by_cat: dict[str, list[MeanPair]] = defaultdict(list)
    for p in pairs:
        by_cat[p.category or NO_CATEGORY].append(p)
    return {
        "r": overall.r,
        "r_centred": overall.centred.r,
        "n_pairs": len(pairs),
        "per_category": {c: wvs_correlations(ps).r for c, ps in sorted(by_cat.items())},
        "per_country": {c: overall.per_country[c].r for c in countries if c in overall.per_country},
        "western_gap": western_gap(pairs, countries, western),
    }


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def study_markdown(figures: Mapping[str, dict[str, Any]], western: Iterable[str]) -> str:
    """The study's tables: overall and gap, per category, per country (models as columns)."""
    models = list(figures)
    lines = ["# WVS study: model comparison", "", "## Overall", ""]
    lines += ["| model | r | r centred | Western r | non-Western r | gap (95% CI) | pairs |"]
    lines += ["|---|---|---|---|---|---|---|"]
    for m, f in figures.items():
        g = f["western_gap"]
        ci = f"{_fmt(g['value'], True)} [{_fmt(g['ci_low'], True)}, {_fmt(g['ci_high'], True)}]"
        lines.append(
            f"| {m} | {_fmt(f['r'])} | {_fmt(f['r_centred'])} | {_fmt(g['western'])} | "
            f"{_fmt(g['rest'])} | {ci} | {f['n_pairs']} |"
        )
    lines += ["", f"Western: {', '.join(sorted(western))}.", ""]
    for key, title in (("per_category", "Per category"), ("per_country", "Per country")):
        rows = sorted({k for f in figures.values() for k in f[key]})
        lines += [f"## {title} (Pearson r)", "", "| | " + " | ".join(models) + " |"]
        lines += ["|---" * (len(models) + 1) + "|"]
        lines += [
            f"| {k} | " + " | ".join(_fmt(figures[m][key].get(k)) for m in models) + " |"
            for k in rows
        ]
        lines.append("")
    return "\n".join(lines)


def write_csv(path: Path, figures: Mapping[str, dict[str, Any]], key: str) -> None:
    """``key`` (per_category / per_country) as a long table: model, name, r."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", key.removeprefix("per_"), "r"])
        for m, f in figures.items():
            writer.writerows([m, k, v] for k, v in f[key].items())


def heatmap_png(figures: Mapping[str, dict[str, Any]]) -> bytes:
    """Models x categories heatmap of Pearson r (grey where a cell has none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(figures)
    cats = sorted({c for f in figures.values() for c in f["per_category"]})
    values = np.array(
        [[_num(figures[m]["per_category"].get(c)) for c in cats] for m in models], dtype=float
    )
    fig, ax = plt.subplots(figsize=(2.0 + 0.9 * len(cats), 3.2 + 0.5 * len(models)))
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#d0d0d0")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-1, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "—" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(cats)), [_short(c) for c in cats], rotation=40, ha="right")
    ax.set_yticks(range(len(models)), models)
    fig.colorbar(image, ax=ax, label="Pearson r", shrink=0.8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and v is not None else math.nan


def _short(category: str, width: int = 28) -> str:
    return category if len(category) <= width else category[: width - 1] + "…"


def write_study_report(
    out_dir: Path, figures: Mapping[str, dict[str, Any]], western: Iterable[str]
) -> list[Path]:
    """``study.json``, ``study.md``, ``per_category.csv``, ``per_country.csv``, ``heatmap.png``."""
    western = sorted(western)
    paths = [out_dir / n for n in ("study.json", "study.md", "per_category.csv",
                                   "per_country.csv", "heatmap.png")]  # fmt: skip
    write_json_atomic(paths[0], {"western": western, "models": _clean(figures)})
    write_text_atomic(paths[1], study_markdown(figures, western))
    write_csv(paths[2], figures, "per_category")
    write_csv(paths[3], figures, "per_country")
    with atomic_path(paths[4]) as tmp:
        tmp.write_bytes(heatmap_png(figures))
    return paths


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: _clean(v) for k, v in obj.items()}
    return obj
