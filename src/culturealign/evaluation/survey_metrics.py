"""Metrics of the survey tasks, each as its paper (or its released code) defines it.

Pure numpy/scipy functions over plain numbers, so they can be checked against hand-computed
cases and the reference implementations. Formulas (docs/tasks/survey.md has the derivations):

* CultureSPA score of a country (Xu et al. 2025, ``result_analysis_run_3.py``)::

      S_c = 1 - ||a - g||_2 / ||1 - n||_2

  over the questions whose answer parsed (first integer in 0..10) and that have a gold
  answer; ``a`` the parsed answers, ``g`` the country's majority options, ``n`` the numbers
  of options. The paper reports ``100 * S_c`` and its mean over the 18 countries.
* WVS mean-score correlation (Kim & Baek 2024): ``mu = sum_i p_i s_i`` for model and humans,
  Pearson r over (question, country) pairs, overall / per category / per country.
* GlobalOpinionQA similarity (Durmus et al. 2023): ``1 - JSD(P_model, P_country)``, JSD the
  Jensen-Shannon distance, averaged over (question, country) pairs; the spread is the sample
  standard deviation of the per-country means. :func:`culturebank_similarity` is what the
  CultureBank code computes instead: ``1 - sqrt(JS divergence / K)``.
* Culturally aware NLI (Huang & Yang 2023; CultureBank ``cultural_nli.py``): the best
  macro-F1 of ``P(entail) > t`` over ``t in {0.6, 0.7, 0.8, 0.9, 1.0}``.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats

from culturealign.data.survey import SurveyQuestion

CALI_THRESHOLDS: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9, 1.0)
_FIRST_INT = re.compile(r"\d+")


# -- CultureSPA ------------------------------------------------------------------------------
def parse_first_integer(text: str, low: int = 0, high: int = 10) -> int | None:
    """CultureSPA's parser: the first run of digits, if within ``low..high``, else invalid.

    Only the first integer is tried, and it is not checked against the question's options:
    a "7" for a 4-option question counts, as in the original.
    """
    match = _FIRST_INT.search(text)
    if match is None:
        return None
    value = int(match.group())
    return value if low <= value <= high else None


def culturespa_score(
    answers: Sequence[int | None], gold: Sequence[int], n_options: Sequence[int]
) -> float:
    """``1 - ||a - g|| / ||1 - n||`` over the answered questions (NaN if none); papers x100."""
    kept = [(a, g, n) for a, g, n in zip(answers, gold, n_options, strict=True) if a is not None]
    if not kept:
        return math.nan
    a, g, n = (np.array(col, dtype=float) for col in zip(*kept, strict=True))
    norm = float(np.linalg.norm(np.ones_like(n) - n))
    return 1.0 - float(np.linalg.norm(a - g)) / norm


def culturespa_country_scores(
    questions: Sequence[SurveyQuestion], answers: Mapping[str, Mapping[str, int | None]]
) -> dict[str, float]:
    """:func:`culturespa_score` per country from ``answers[country][question id]``.

    Gold is the option code of the country's published majority answer; questions without
    one (empty in the proportions file) or without an answer are skipped, as in the original.
    """
    out = {}
    for country, by_question in answers.items():
        rows = [
            (by_question[q.id], int(q.labels[q.majority[country]]), len(q.options))
            for q in questions
            if country in q.majority and q.id in by_question
        ]
        a, g, n = zip(*rows, strict=True) if rows else ((), (), ())
        out[country] = culturespa_score(a, g, n)
    return out


# -- WVS mean scores -------------------------------------------------------------------------
def mean_score(probs: Sequence[float], scores: Sequence[float | None]) -> float:
    """``sum_i p_i s_i`` over options with a score, the probabilities renormalised over them.

    Options off the scale ("Other answer") have no score; dropping them and renormalising is
    what WorldValuesBench's answer adjustment implies for human answers, applied to both sides.
    """
    keep = [(p, s) for p, s in zip(probs, scores, strict=True) if s is not None]
    mass = sum(p for p, _ in keep)
    if mass <= 0:
        return math.nan
    return sum(p * s for p, s in keep) / mass


def normalised_mean(value: float, scale: tuple[float, float]) -> float:
    """Map a mean score to 0..1 by the question's scale, so 4- and 10-point items pool."""
    lo, hi = scale
    return (value - lo) / (hi - lo) if hi > lo else math.nan


class Correlation(NamedTuple):
    r: float
    p_value: float
    n: int


def pearson(x: Sequence[float], y: Sequence[float]) -> Correlation:
    """Pearson r of the finite pairs; NaN when fewer than 3 pairs or a side is constant."""
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3:
        return Correlation(math.nan, math.nan, len(pairs))
    xs, ys = (np.array(c) for c in zip(*pairs, strict=True))
    if np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return Correlation(math.nan, math.nan, len(pairs))
    res = stats.pearsonr(xs, ys)
    return Correlation(float(res.statistic), float(res.pvalue), len(pairs))


class MeanPair(NamedTuple):
    """A model and a human mean score of one question in one country."""

    question: str
    country: str
    category: str | None
    model: float
    human: float


def correlation_table(rows: Iterable[MeanPair]) -> dict[str, dict[str, Correlation]]:
    """Pearson r overall, per category (rows without one are left out) and per country."""
    rows = list(rows)
    by_cat: dict[str, list[MeanPair]] = defaultdict(list)
    by_country: dict[str, list[MeanPair]] = defaultdict(list)
    for row in rows:
        by_country[row.country].append(row)
        if row.category:
            by_cat[row.category].append(row)

    def corr(group: list[MeanPair]) -> Correlation:
        return pearson([r.model for r in group], [r.human for r in group])

    return {
        "overall": {"all": corr(rows)},
        "category": {k: corr(v) for k, v in sorted(by_cat.items())},
        "country": {k: corr(v) for k, v in by_country.items()},
    }


class GroupComparison(NamedTuple):
    group: float
    rest: float
    difference: float  # group - rest


def compare_groups(per_country: Mapping[str, float], group: Iterable[str]) -> GroupComparison:
    """Mean of a per-country value inside ``group`` (e.g. Western) vs outside, and the gap."""
    members = set(group)
    inside = [v for c, v in per_country.items() if c in members and math.isfinite(v)]
    outside = [v for c, v in per_country.items() if c not in members and math.isfinite(v)]
    a = statistics.fmean(inside) if inside else math.nan
    b = statistics.fmean(outside) if outside else math.nan
    return GroupComparison(a, b, a - b)


# -- GlobalOpinionQA -------------------------------------------------------------------------
def _as_dist(p: Sequence[float]) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    total = arr.sum()
    if arr.ndim != 1 or total <= 0 or (arr < 0).any():
        raise ValueError("a distribution needs non-negative entries with a positive sum")
    return arr / total


def js_distance(p: Sequence[float], q: Sequence[float], base: float = math.e) -> float:
    """Jensen-Shannon distance, as ``scipy.spatial.distance.jensenshannon`` (normalises p, q)."""
    a, b = _as_dist(p), _as_dist(q)
    m = 0.5 * (a + b)
    kl_a = float(np.sum(a[a > 0] * np.log(a[a > 0] / m[a > 0])))
    kl_b = float(np.sum(b[b > 0] * np.log(b[b > 0] / m[b > 0])))
    div = max(0.5 * (kl_a + kl_b), 0.0) / math.log(base)
    return math.sqrt(div)


def opinion_similarity(p: Sequence[float], q: Sequence[float], base: float = math.e) -> float:
    """Durmus et al.'s similarity of two option distributions: ``1 - JSD``."""
    return 1.0 - js_distance(p, q, base)


def culturebank_similarity(
    pred: Sequence[float], gold: Sequence[float], eps: float = 1e-12
) -> float:
    """What CultureBank's ``world_value_survey.py`` computes, as the paper's "1 - JSD".

    ``F.kl_div(log(m + eps), p, reduction="batchmean")`` on 1-D tensors divides the summed KL
    by the number of options K, so the result is ``1 - sqrt(JS divergence / K)`` in nats;
    ``eps`` enters only ``log m`` and neither side is renormalised. NaN propagates (the
    original drops NaN similarities before averaging).
    """
    p, q = np.asarray(pred, dtype=float), np.asarray(gold, dtype=float)
    log_m = np.log(0.5 * (p + q) + eps)

    def kl(t: np.ndarray) -> float:
        safe = np.where(t > 0, t, 1.0)
        return float(np.sum(np.where(t > 0, t * (np.log(safe) - log_m), 0.0))) / len(t)

    div = 0.5 * (kl(p) + kl(q))
    return math.nan if math.isnan(div) else 1.0 - math.sqrt(max(div, 0.0))  # eps: ~-1e-17


class CountrySimilarity(NamedTuple):
    mean: float  # over all (question, country) pairs
    std: float  # sample std of the per-country means
    per_country: dict[str, float]
    n: int


def aggregate_similarity(pairs: Iterable[tuple[str, float]]) -> CountrySimilarity:
    """Average ``(country, similarity)`` pairs overall and per country; NaNs are dropped.

    The overall mean is over pairs (not a mean of country means), as in the CultureBank code;
    the spread is ``statistics.stdev`` of the per-country means.
    """
    by_country: dict[str, list[float]] = defaultdict(list)
    for country, sim in pairs:
        if math.isfinite(sim):
            by_country[country].append(sim)
    means = {c: statistics.fmean(v) for c, v in by_country.items()}
    flat = [s for v in by_country.values() for s in v]
    overall = statistics.fmean(flat) if flat else math.nan
    std = statistics.stdev(means.values()) if len(means) > 1 else math.nan
    return CountrySimilarity(overall, std, means, len(flat))


# -- Culturally aware NLI --------------------------------------------------------------------
def macro_f1(gold: Sequence[int], pred: Sequence[int]) -> float:
    """sklearn's ``f1_score(average="macro")`` for labels in gold or pred, 0 when undefined."""
    labels = sorted(set(gold) | set(pred))
    f1s = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p != label)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return statistics.fmean(f1s) if f1s else math.nan


class ThresholdF1(NamedTuple):
    f1: float
    threshold: float


def best_threshold_f1(
    gold: Sequence[bool], p_entail: Sequence[float], thresholds: Sequence[float] = CALI_THRESHOLDS
) -> ThresholdF1:
    """The best macro-F1 of ``P(entail) > t`` over the published thresholds (first best wins)."""
    y = [int(g) for g in gold]
    best = ThresholdF1(-1.0, math.nan)
    for t in thresholds:
        f1 = macro_f1(y, [int(p > t) for p in p_entail])
        if f1 > best.f1:
            best = ThresholdF1(f1, t)
    return best


# -- Vectorised forms for bootstrap resampling (statistic(*arrays, axis=-1)) ------------------
def pearson_r(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson r along ``axis`` (NaN where a side is constant)."""
    xm = x - x.mean(axis=axis, keepdims=True)
    ym = y - y.mean(axis=axis, keepdims=True)
    den = np.sqrt((xm * xm).sum(axis=axis) * (ym * ym).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xm * ym).sum(axis=axis) / den


def macro_f1_binary(gold: np.ndarray, pred: np.ndarray, axis: int = -1) -> np.ndarray:
    """:func:`macro_f1` for 0/1 arrays along ``axis``, over the classes present in either."""
    total, present = 0.0, 0
    for cls in (0, 1):
        tp = np.sum((pred == cls) & (gold == cls), axis=axis)
        fp = np.sum((pred == cls) & (gold != cls), axis=axis)
        fn = np.sum((pred != cls) & (gold == cls), axis=axis)
        here = (tp + fp + fn) > 0
        total = total + np.where(here, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        present = present + here
    return total / np.maximum(present, 1)


def best_threshold_f1_array(
    gold: np.ndarray, p_entail: np.ndarray, axis: int = -1, thresholds=CALI_THRESHOLDS
) -> np.ndarray:
    """:func:`best_threshold_f1` (the F1 only) along ``axis``."""
    scores = [macro_f1_binary(gold, (p_entail > t).astype(int), axis) for t in thresholds]
    return np.max(np.stack(scores), axis=0)


def culturespa_resampled(
    answers: np.ndarray, gold: np.ndarray, n_options: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Mean CultureSPA score over countries for each row of question ``weights``.

    ``answers`` and ``gold`` are (questions x countries), NaN where unanswered or without
    gold; ``weights`` is (draws x questions) resampling counts (all ones: the plain score, equal
    to the mean of :func:`culturespa_score` over the countries).
    """
    valid = ~np.isnan(answers) & ~np.isnan(gold)
    d2 = np.where(valid, (np.nan_to_num(answers) - np.nan_to_num(gold)) ** 2, 0.0)
    n2 = np.where(valid, ((1.0 - n_options) ** 2)[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_country = 1.0 - np.sqrt(weights @ d2) / np.sqrt(weights @ n2)
        return np.nanmean(per_country, axis=-1)


def question_weights(n_questions: int, resamples: int = 2000, seed: int = 0) -> np.ndarray:
    """Bootstrap resampling counts of the questions, one row per draw (seeded)."""
    rng = np.random.default_rng(seed)
    uniform = np.full(n_questions, 1.0 / n_questions)
    return rng.multinomial(n_questions, uniform, size=resamples).astype(float)


def percentile_ci(
    value: float, draws: np.ndarray, confidence: float = 0.95
) -> tuple[float, float, float]:
    """``(value, low, high)`` with the percentile interval of the bootstrap ``draws``."""
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return value, math.nan, math.nan
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    return value, float(low), float(high)
