"""Per-country and per-category results of the survey tasks: the ``metrics`` of a summary.

``summarise_*`` turn the runner's item records (:class:`~.records.SurveyItem`,
:class:`~.records.NLIItem`) into the ``metrics`` of ``summary.json``: headline values with 95%
bootstrap intervals (the columns of the results table), plus ``per_country``,
``per_category``, ``gain_per_country`` (aware minus unaware) and ``western_vs_rest``. The report
files made from them are written by :mod:`culturealign.reports.survey`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from culturealign.data.survey import SurveyQuestion, SurveySet
from culturealign.evaluation.metrics import bootstrap, percentile_ci, question_weights
from culturealign.evaluation.nli_metrics import (
    CALI_FOLDS,
    best_threshold_f1,
    cv_threshold_f1,
    cv_threshold_f1_array,
    floor_f1,
    premise_folds,
)
from culturealign.evaluation.opinion_metrics import (
    aggregate_similarity,
    culturebank_similarity,
    opinion_similarity,
)
from culturealign.evaluation.records import ItemRecord, NLIItem, SurveyItem, as_items
from culturealign.evaluation.wvs_metrics import (
    MeanPair,
    compare_groups,
    correlation_resampled,
    culturespa_country_scores,
    culturespa_resampled,
    mean_score,
    normalised_mean,
    question_centred,
    wvs_correlations,
)

Records = Sequence[ItemRecord | Mapping[str, Any]]  # records, or their JSON dicts

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


Row = tuple[SurveyQuestion, str, SurveyItem]  # a record compared with one country


def _expand(records: list[SurveyItem], survey: SurveySet) -> dict[str, list[Row]]:
    """Per persona: (question, country, record) for every country an answer is compared with."""
    questions = {q.id: q for q in survey.questions}
    out: dict[str, list[Row]] = defaultdict(list)
    for r in records:
        q = questions[r.question]
        countries = q.distributions if r.country == "-" else [r.country]
        out[r.persona] += [(q, c, r) for c in countries if c in q.distributions]
    return out


def _model_probs(q: SurveyQuestion, record: SurveyItem) -> list[float] | None:
    """The option distribution of a record: choice probabilities, or one-hot of the parse."""
    if record.probs is not None:
        return record.probs
    if record.prediction is None:
        return None
    return [float(i == record.prediction) for i in range(len(q.options))]


# -- WVS ------------------------------------------------------------------------------------
def _culturespa(rows: list[Row], survey: SurveySet) -> tuple[dict[str, float], np.ndarray]:
    answers: dict[str, dict[str, int | None]] = defaultdict(dict)
    for q, c, r in rows:
        answers[c][q.id] = r.answer
    per_country = culturespa_country_scores(survey.questions, answers)
    grid = np.full((len(survey.questions), len(survey.countries)), np.nan)
    col = {c: j for j, c in enumerate(survey.countries)}
    row = {q.id: i for i, q in enumerate(survey.questions)}
    for q, c, r in rows:
        if r.answer is not None:
            grid[row[q.id], col[c]] = r.answer
    return per_country, grid


def _gold_grid(survey: SurveySet) -> tuple[np.ndarray, np.ndarray]:
    gold = np.full((len(survey.questions), len(survey.countries)), np.nan)
    for i, q in enumerate(survey.questions):
        for j, c in enumerate(survey.countries):
            if c in q.majority:
                gold[i, j] = int(q.labels[q.majority[c]])
    return gold, np.array([len(q.options) for q in survey.questions], dtype=float)


def _mean_pairs(rows: list[Row]) -> list[MeanPair]:
    out = []
    for q, c, r in rows:
        probs = _model_probs(q, r)
        if probs is None:
            continue
        model = normalised_mean(mean_score(probs, q.scores), q.scale)
        human = normalised_mean(mean_score(q.distributions[c], q.scores), q.scale)
        out.append(MeanPair(q.id, c, q.category, model, human))
    return [p for p in out if math.isfinite(p.model) and math.isfinite(p.human)]


def _similarities(rows: list[Row], kind: str = "jsd") -> list[tuple[str, str, float]]:
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


def _similarity_estimate(sims: list[tuple[str, str, float]], average: str) -> dict[str, Any] | None:
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


def _by_category(rows: list[Row], survey: SurveySet) -> dict[str, dict[str, Any]]:
    cats: dict[str, list[Row]] = defaultdict(list)
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
    records: Records, survey: SurveySet, western: Iterable[str] = ()
) -> dict[str, Any]:
    """CultureSPA score, WVS mean-score correlations and 1 - JSD, per persona and country.

    ``r_*`` is the mean over countries of each country's r over its questions (Kim & Baek's
    statistic; the unweighted mean is our aggregation), ``r_pooled_*`` the r over all
    (question, country) pairs and ``r_centred_*`` the r of question-centred means.
    """
    items = as_items(records, SurveyItem)
    rows_by = _expand(items, survey)
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
            float(np.mean([r.answer is None for r in items if r.persona == persona]))
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
    cleaned: dict[str, Any] = clean(out)
    return cleaned


def _gains(per_country: dict[str, dict[str, dict[str, float]]], metric: str) -> dict[str, float]:
    aware, unaware = per_country["aware"], per_country["unaware"]
    return {c: aware[c][metric] - unaware[c][metric] for c in aware if c in unaware}


# -- GlobalOpinionQA ------------------------------------------------------------------------
def summarise_opinions(
    records: Records,
    survey: SurveySet,
    similarity: str = "jsd",
    average: str = "question",
) -> dict[str, Any]:
    """Similarity averaged per question then over questions (or over pairs), and its spread."""
    rows_by = _expand(as_items(records, SurveyItem), survey)
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
    cleaned: dict[str, Any] = clean(out)
    return cleaned


# -- CALI -----------------------------------------------------------------------------------
THRESHOLD_CHOICE = f"{CALI_FOLDS}-fold cross-validation, folds grouped by premise (seed 0)"


def summarise_cali(records: Records, groups: Sequence[str]) -> dict[str, Any]:
    """Cross-validated macro-F1 per persona group (US, IN), with the constant-answer floors.

    ``f1_*`` scores every item with a threshold chosen on the other folds; ``floor_*`` is the
    better of all-"entail" and all-"not entail". The original protocol (threshold chosen on the
    scored items) is kept per group as ``f1_threshold_on_test``: in-sample, so optimistic.
    """
    out: dict[str, Any] = {"primary": "f1", "threshold_choice": THRESHOLD_CHOICE}
    out["per_country"] = {"aware": {}}
    items = as_items(records, NLIItem)
    for group in groups:
        rows = [r for r in items if r.group == group]
        gold = np.array([r.target for r in rows], dtype=int)
        p = np.array([r.p_entail for r in rows], dtype=float)
        folds = premise_folds([r.premise for r in rows])
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
    cleaned: dict[str, Any] = clean(out)
    return cleaned
