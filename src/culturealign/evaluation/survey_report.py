"""Per-country and per-category results of the survey tasks, and their report files.

``summarise_*`` turn the runner's per-item records into the ``metrics`` of ``summary.json``:
headline values with 95% bootstrap intervals (the columns of the results table), plus
``per_country``, ``per_category``, ``gain_per_country`` (aware minus unaware) and
``western_vs_rest``. :func:`write_report` reads a finished run folder and writes
``per_country.csv``, ``report.md`` and ``per_country.png``.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from culturealign.data.survey import SurveyQuestion, SurveySet
from culturealign.evaluation.metrics import bootstrap
from culturealign.evaluation.survey_metrics import (
    CALI_FOLDS,
    MeanPair,
    aggregate_similarity,
    best_threshold_f1,
    compare_groups,
    correlation_resampled,
    culturebank_similarity,
    culturespa_country_scores,
    culturespa_resampled,
    cv_threshold_f1,
    cv_threshold_f1_array,
    floor_f1,
    mean_score,
    normalised_mean,
    opinion_similarity,
    percentile_ci,
    premise_folds,
    question_centred,
    question_weights,
    wvs_correlations,
)
from culturealign.paths import write_text_atomic

PERSONAS = ("unaware", "aware")
WVS_COLUMNS = (
    "culturespa_unaware",
    "culturespa_aware",
    "culturespa_gain",
    "r_unaware",
    "r_aware",
    "r_centred_aware",
    "similarity_unaware",
    "similarity_aware",
)
OPINION_COLUMNS = ("similarity_unaware", "similarity_aware", "std_unaware", "std_aware")
SIMILARITIES = ("jsd", "culturebank")
JSD_BASE = 2.0  # bounds 1 - JSD to [0, 1]; Durmus et al. do not state the base


def cali_columns(groups: Sequence[str]) -> tuple[str, ...]:
    """Each group's F1 with its floor (the better constant answer) beside it."""
    return tuple(c for g in groups for c in (f"f1_{g}", f"floor_{g}"))


def _est(value: float, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    low = value if low is None else low
    high = value if high is None else high
    return {"value": value, "ci_low": low, "ci_high": high}


def clean(obj: Any) -> Any:
    """NaN -> None, so summaries stay strict JSON; an estimate without a value becomes None
    and one without an interval gets the point value as its bounds (the table needs numbers)."""
    if isinstance(obj, float):
        return None if math.isnan(obj) else obj
    if isinstance(obj, dict) and set(obj) == {"value", "ci_low", "ci_high"}:
        if obj["value"] is None or math.isnan(obj["value"]):
            return None
        nan = [k for k in ("ci_low", "ci_high") if obj[k] is None or math.isnan(obj[k])]
        return {**obj, **{k: obj["value"] for k in nan}} if nan else obj
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    return obj


def _expand(records: list[dict[str, Any]], survey: SurveySet) -> dict[str, list[tuple]]:
    """Per persona: (question, country, record) for every country an answer is compared with."""
    questions = {q.id: q for q in survey.questions}
    out: dict[str, list[tuple]] = defaultdict(list)
    for r in records:
        q = questions[r["question"]]
        countries = q.distributions if r["country"] == "-" else [r["country"]]
        out[r["persona"]] += [(q, c, r) for c in countries if c in q.distributions]
    return out


def _model_probs(q: SurveyQuestion, record: dict[str, Any]) -> list[float] | None:
    """The option distribution of a record: choice probabilities, or one-hot of the parse."""
    if "probs" in record:
        return record["probs"]
    if record.get("prediction") is None:
        return None
    return [float(i == record["prediction"]) for i in range(len(q.options))]


# -- WVS ------------------------------------------------------------------------------------
def _culturespa(rows: list[tuple], survey: SurveySet) -> tuple[dict[str, float], np.ndarray]:
    answers: dict[str, dict[str, int | None]] = defaultdict(dict)
    for q, c, r in rows:
        answers[c][q.id] = r.get("answer")
    per_country = culturespa_country_scores(survey.questions, answers)
    grid = np.full((len(survey.questions), len(survey.countries)), np.nan)
    col = {c: j for j, c in enumerate(survey.countries)}
    row = {q.id: i for i, q in enumerate(survey.questions)}
    for q, c, r in rows:
        if r.get("answer") is not None:
            grid[row[q.id], col[c]] = r["answer"]
    return per_country, grid


def _gold_grid(survey: SurveySet) -> tuple[np.ndarray, np.ndarray]:
    gold = np.full((len(survey.questions), len(survey.countries)), np.nan)
    for i, q in enumerate(survey.questions):
        for j, c in enumerate(survey.countries):
            if c in q.majority:
                gold[i, j] = int(q.labels[q.majority[c]])
    return gold, np.array([len(q.options) for q in survey.questions], dtype=float)


def _mean_pairs(rows: list[tuple]) -> list[MeanPair]:
    out = []
    for q, c, r in rows:
        probs = _model_probs(q, r)
        if probs is None:
            continue
        model = normalised_mean(mean_score(probs, q.scores), q.scale)
        human = normalised_mean(mean_score(q.distributions[c], q.scores), q.scale)
        out.append(MeanPair(q.id, c, q.category, model, human))
    return [p for p in out if math.isfinite(p.model) and math.isfinite(p.human)]


def _similarities(rows: list[tuple], kind: str = "jsd") -> list[tuple[str, str, float]]:
    out = []
    for q, c, r in rows:
        probs = _model_probs(q, r)
        gold = q.distributions[c]
        if probs is None or sum(gold) <= 0:
            out.append((q.id, c, math.nan))
        elif kind == "culturebank":
            out.append((q.id, c, culturebank_similarity(probs, gold)))
        else:
            out.append((q.id, c, opinion_similarity(probs, gold, JSD_BASE)))
    return out


def _similarity_estimate(sims: list[tuple[str, str, float]], average: str) -> dict | None:
    """Mean similarity with a bootstrap interval over its averaging units (questions or pairs)."""
    agg = aggregate_similarity(sims, average)
    if average == "question":
        units = np.array(list(agg.per_question.values()))
    else:
        units = np.array([s for _, _, s in sims if math.isfinite(s)])
    return bootstrap(np.mean, units).as_dict() if len(units) else None


def _mean_grids(pairs: list[MeanPair], survey: SurveySet) -> tuple[np.ndarray, np.ndarray]:
    """Model and human means as (questions x countries) grids, NaN where missing."""
    row = {q.id: i for i, q in enumerate(survey.questions)}
    col = {c: j for j, c in enumerate(survey.countries)}
    model = np.full((len(row), len(col)), np.nan)
    human = model.copy()
    for p in pairs:
        model[row[p.question], col[p.country]] = p.model
        human[row[p.question], col[p.country]] = p.human
    return model, human


def _by_category(rows: list[tuple], survey: SurveySet) -> dict[str, dict[str, Any]]:
    cats: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        cats[row[0].category or "(no WorldValuesBench category)"].append(row)
    out = {}
    for cat, sub in sorted(cats.items()):
        scores, _ = _culturespa(sub, survey)
        finite = [v for v in scores.values() if math.isfinite(v)]
        corr = wvs_correlations(_mean_pairs(sub))
        out[cat] = {
            "culturespa": float(np.mean(finite)) if finite else math.nan,
            "r": corr.r,
            "r_pooled": corr.pooled.r,
            "questions": len({q.id for q, _, _ in sub}),
        }
    return out


def _correlations(
    pairs: list[MeanPair], survey: SurveySet, weights: np.ndarray
) -> dict[str, dict[str, float]]:
    """Headline r (mean of per-country r), pooled r and centred r; intervals resample questions."""
    corr = wvs_correlations(pairs)
    mean_draws, pooled_draws = correlation_resampled(*_mean_grids(pairs, survey), weights)
    _, centred_draws = correlation_resampled(*_mean_grids(question_centred(pairs), survey), weights)
    return {
        "r": _est(*percentile_ci(corr.r, mean_draws)),
        "r_pooled": _est(*percentile_ci(corr.pooled.r, pooled_draws)),
        "r_centred": _est(*percentile_ci(corr.centred.r, centred_draws)),
    }


def summarise_wvs(
    records: list[dict[str, Any]], survey: SurveySet, western: Iterable[str] = ()
) -> dict[str, Any]:
    """CultureSPA score, WVS mean-score correlations and 1 - JSD, per persona and country.

    ``r_*`` is the mean over countries of each country's r over its questions (Kim & Baek's
    statistic; the unweighted mean is our aggregation), ``r_pooled_*`` the r over all
    (question, country) pairs and ``r_centred_*`` the r of question-centred means.
    """
    rows_by = _expand(records, survey)
    gold, n_opts = _gold_grid(survey)
    weights = question_weights(len(survey.questions))
    out: dict[str, Any] = {"primary": "culturespa", "per_country": {}, "per_category": {}}
    out["western_vs_rest"], grids = {}, {}
    for persona in [p for p in PERSONAS if p in rows_by]:
        rows = rows_by[persona]
        per_country, grids[persona] = _culturespa(rows, survey)
        value = float(
            culturespa_resampled(grids[persona], gold, n_opts, np.ones((1, len(n_opts))))[0]
        )
        draws = culturespa_resampled(grids[persona], gold, n_opts, weights)
        out[f"culturespa_{persona}"] = _est(*percentile_ci(value, draws))
        pairs = _mean_pairs(rows)
        out |= {f"{k}_{persona}": v for k, v in _correlations(pairs, survey, weights).items()}
        sims = _similarities(rows)
        out[f"similarity_{persona}"] = _similarity_estimate(sims, "question")
        out[f"invalid_rate_{persona}"] = _est(
            float(np.mean([r.get("answer") is None for r in records if r["persona"] == persona]))
        )
        corr = wvs_correlations(pairs).per_country
        sim_country = aggregate_similarity(sims).per_country
        out["per_country"][persona] = {
            c: {
                "culturespa": per_country.get(c, math.nan),
                "r": corr[c].r if c in corr else math.nan,
                "similarity": sim_country.get(c, math.nan),
            }
            for c in survey.countries
        }
        out["per_category"][persona] = _by_category(rows, survey)
        out["western_vs_rest"][persona] = {
            m: compare_groups(
                {c: v[m] for c, v in out["per_country"][persona].items()}, western
            )._asdict()
            for m in ("culturespa", "r")
        }
    if len(grids) == 2:
        diff = culturespa_resampled(grids["aware"], gold, n_opts, weights) - culturespa_resampled(
            grids["unaware"], gold, n_opts, weights
        )
        gain = out["culturespa_aware"]["value"] - out["culturespa_unaware"]["value"]
        out["culturespa_gain"] = _est(*percentile_ci(gain, diff))
        out["gain_per_country"] = _gains(out["per_country"], "culturespa")
    return clean(out)


def _gains(per_country: dict[str, dict[str, dict[str, float]]], metric: str) -> dict[str, float]:
    aware, unaware = per_country["aware"], per_country["unaware"]
    return {c: aware[c][metric] - unaware[c][metric] for c in aware if c in unaware}


# -- GlobalOpinionQA ------------------------------------------------------------------------
def summarise_opinions(
    records: list[dict[str, Any]],
    survey: SurveySet,
    similarity: str = "jsd",
    average: str = "question",
) -> dict[str, Any]:
    """Similarity averaged per question then over questions (or over pairs), and its spread."""
    rows_by = _expand(records, survey)
    out: dict[str, Any] = {"primary": "similarity", "similarity_kind": similarity}
    out |= {"average": average, "per_country": {}}
    for persona in [p for p in PERSONAS if p in rows_by]:
        sims = _similarities(rows_by[persona], similarity)
        agg = aggregate_similarity(sims, average)
        out[f"similarity_{persona}"] = _similarity_estimate(sims, average)
        out[f"std_{persona}"] = _est(agg.std)
        out[f"invalid_rate_{persona}"] = _est(1 - agg.n / max(len(sims), 1))
        out["per_country"][persona] = {c: {"similarity": v} for c, v in agg.per_country.items()}
    if len(out["per_country"]) == 2:
        out["gain_per_country"] = _gains(out["per_country"], "similarity")
    return clean(out)


# -- CALI -----------------------------------------------------------------------------------
THRESHOLD_CHOICE = f"{CALI_FOLDS}-fold cross-validation, folds grouped by premise (seed 0)"


def summarise_cali(records: list[dict[str, Any]], groups: Sequence[str]) -> dict[str, Any]:
    """Cross-validated macro-F1 per persona group (US, IN), with the constant-answer floors.

    ``f1_*`` scores every item with a threshold chosen on the other folds; ``floor_*`` is the
    better of all-"entail" and all-"not entail". The original protocol (threshold chosen on the
    scored items) is kept per group as ``f1_threshold_on_test``: in-sample, so optimistic.
    """
    out: dict[str, Any] = {"primary": "f1", "threshold_choice": THRESHOLD_CHOICE}
    out["per_country"] = {"aware": {}}
    for group in groups:
        rows = [r for r in records if r["group"] == group]
        gold = np.array([r["target"] for r in rows], dtype=int)
        p = np.array([r["p_entail"] for r in rows], dtype=float)
        folds = premise_folds([r["premise"] for r in rows])
        cv = cv_threshold_f1(list(gold.astype(bool)), list(p), list(folds))
        ci = bootstrap(cv_threshold_f1_array, gold, p, folds).as_dict() if len(rows) else {}
        floors = floor_f1(list(gold.astype(bool)))
        in_sample = best_threshold_f1(list(gold.astype(bool)), list(p))
        out[f"f1_{group}"] = {**ci, "value": cv.f1}
        out[f"floor_{group}"] = _est(max(floors.values()) if rows else math.nan)
        out["per_country"]["aware"][group] = {
            "f1": cv.f1,
            "thresholds": cv.thresholds,
            **{f"f1_{k}": v for k, v in floors.items()},
            "f1_threshold_on_test": in_sample.f1,
            "threshold_on_test": in_sample.threshold,
            "mean_p_entail": float(p.mean()) if len(p) else math.nan,
            "n": len(rows),
        }
    return clean(out)


# -- files ----------------------------------------------------------------------------------
def write_report(out_dir: Path) -> list[Path]:
    """``per_country.csv``, ``report.md`` and ``per_country.png`` from a run's summary.json."""
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    metrics = summary["metrics"]
    per_country = metrics.get("per_country", {})
    paths = [_write_csv(out_dir / "per_country.csv", per_country)]
    paths.append(out_dir / "report.md")
    write_text_atomic(paths[-1], report_markdown(summary))
    png = out_dir / "per_country.png"
    if per_country and _bar_chart(png, per_country, metrics.get("primary", ""), summary):
        paths.append(png)
    return paths


def _write_csv(path: Path, per_country: dict[str, dict[str, dict[str, Any]]]) -> Path:
    names = sorted({k for rows in per_country.values() for v in rows.values() for k in v})
    lines = [["persona", "country", *names]]
    for persona, rows in per_country.items():
        lines += [[persona, c, *(v.get(k) for k in names)] for c, v in rows.items()]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(lines)
    return path


def _num(v: Any, scale: float = 100.0) -> str:
    return "—" if v is None else f"{v * scale:.1f}"


def report_markdown(summary: dict[str, Any]) -> str:
    """Per-country table (and aware - unaware gain), per-category table, Western vs rest."""
    m = summary["metrics"]
    primary = m.get("primary", "")
    per_country = m.get("per_country", {})
    title = f"# {summary['task']['name']} — {summary['model']['name']}\n\n"
    parts = [title, f"Values are x100. Primary metric: {primary}.\n\n", "## Per country\n\n"]
    personas = list(per_country)
    gains = m.get("gain_per_country", {})
    head = ["country", *personas] + (["gain (aware - unaware)"] if gains else [])
    parts.append("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
    countries = list(dict.fromkeys(c for p in personas for c in per_country[p]))
    for c in countries:
        cells = [_num(per_country[p].get(c, {}).get(primary)) for p in personas]
        cells += [_num(gains.get(c))] if gains else []
        parts.append(f"| {c} | " + " | ".join(cells) + " |\n")
    parts += _correlation_section(m) + _cali_section(m)
    for persona, cats in m.get("per_category", {}).items():
        parts.append(f"\n## Per category ({persona})\n\n")
        parts.append(
            "| category | questions | culturespa | r | r pooled |\n|---|---|---|---|---|\n"
        )
        for cat, v in cats.items():
            cells = [_num(v["culturespa"]), _num(v["r"]), _num(v.get("r_pooled"))]
            parts.append(f"| {cat} | {v['questions']} | " + " | ".join(cells) + " |\n")
    for persona, groups in m.get("western_vs_rest", {}).items():
        parts.append(
            f"\n## Western vs non-Western ({persona})\n\n| metric | Western | rest | gap |\n"
        )
        parts.append("|---|---|---|---|\n")
        for metric, v in groups.items():
            parts.append(
                f"| {metric} | {_num(v['group'])} | {_num(v['rest'])} | {_num(v['difference'])} |\n"
            )
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
        cells = [_num(_value(m.get(f"{k}_{p}"))) for k in ("r", "r_pooled", "r_centred")]
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
        cells = [_num(v.get(k)) for k in ("f1", "f1_all_not_entail", "f1_all_entail")]
        cells.append(f"{_num(v.get('f1_threshold_on_test'))} ({v.get('threshold_on_test')})")
        cells.append(", ".join(str(t) for t in v.get("thresholds", [])))
        parts.append(f"| {group} | " + " | ".join(cells) + " |\n")
    return parts


def _bar_chart(
    path: Path, per_country: dict[str, dict[str, dict[str, Any]]], metric: str, summary: dict
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
    ax.set_title(f"{summary['task']['name']} — {summary['model']['name']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
