"""Metrics of the survey tasks, each as its paper (or its released code) defines it.

Pure numpy/scipy functions over plain numbers, so they can be checked against hand-computed
cases and the reference implementations. Formulas (docs/tasks/survey.md has the derivations):

* CultureSPA score of a country (Xu et al. 2025, ``result_analysis_run_3.py``)::

      S_c = 1 - ||a - g||_2 / ||1 - n||_2

  over the questions whose answer parsed (first integer in 0..10) and that have a gold
  answer; ``a`` the parsed answers, ``g`` the country's majority options, ``n`` the numbers
  of options. The paper reports ``100 * S_c`` and its mean over the 18 countries.
* WVS mean-score correlation (Kim & Baek 2024): ``mu = sum_i p_i s_i`` for model and humans;
  headline = Pearson r per country over that country's questions, averaged over countries
  (unweighted; per category the same within the category's questions). Secondary: r pooled
  over (question, country) pairs, and r of the question-centred means (cultural signal only).
* GlobalOpinionQA similarity (Durmus et al. 2023): ``1 - JSD(P_model, P_country)``, JSD the
  Jensen-Shannon distance, averaged over a question's countries, then over questions (or, as
  the CultureBank code does, over all (question, country) pairs); the spread is the sample
  standard deviation of the per-country means. :func:`culturebank_similarity` is what the
  CultureBank code computes instead: ``1 - sqrt(JS divergence / K)``.
* Culturally aware NLI (Huang & Yang 2023; CultureBank ``cultural_nli.py``): macro-F1 of
  ``P(entail) > t``, ``t in {0.6, 0.7, 0.8, 0.9, 1.0}``. The original picks ``t`` on the scored
  items themselves; :func:`cv_threshold_f1` picks it on the other folds (5-fold, grouped by
  premise) and scores each item with a threshold it did not help choose.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
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

    Gold is the option code of the country's majority answer in the proportions file;
    questions without one (empty there) or without an answer are skipped, as in the original.
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


class WVSCorrelations(NamedTuple):
    """The WVS mean-score correlations of one set of (question, country) means."""

    r: float  # headline: unweighted mean over countries of the per-country r
    per_country: dict[str, Correlation]  # over the country's questions
    pooled: Correlation  # over all (question, country) pairs: mostly between-question spread
    centred: Correlation  # over pairs, each question's mean over countries subtracted


def wvs_correlations(rows: Iterable[MeanPair]) -> WVSCorrelations:
    """Per-country r (the headline is their mean), the pooled r and the question-centred r.

    Both the per-country and the pooled r are high for a model that knows only which questions
    people agree with everywhere; only the centred r asks whether the model's answers move
    across countries the way people's do (NaN when the model's answers do not move).
    """
    rows = list(rows)
    by_country: dict[str, list[MeanPair]] = defaultdict(list)
    for row in rows:
        by_country[row.country].append(row)
    per_country = {c: _corr(group) for c, group in by_country.items()}
    finite = [v.r for v in per_country.values() if math.isfinite(v.r)]
    mean_r = statistics.fmean(finite) if finite else math.nan
    return WVSCorrelations(mean_r, per_country, _corr(rows), _corr(question_centred(rows)))


def _corr(group: Sequence[MeanPair]) -> Correlation:
    return pearson([r.model for r in group], [r.human for r in group])


def question_centred(rows: Sequence[MeanPair]) -> list[MeanPair]:
    """Each mean minus its question's mean over countries (questions in one country dropped)."""
    by_q: dict[str, list[MeanPair]] = defaultdict(list)
    for row in rows:
        by_q[row.question].append(row)
    out = []
    for group in by_q.values():
        if len(group) < 2:
            continue
        mm = statistics.fmean(r.model for r in group)
        mh = statistics.fmean(r.human for r in group)
        # a country-blind model's means equal their mean up to rounding: make that exactly 0
        out += [r._replace(model=_zero(r.model - mm), human=r.human - mh) for r in group]
    return out


def _zero(x: float, tol: float = 1e-12) -> float:
    return 0.0 if abs(x) < tol else x


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


AVERAGES = ("question", "pair")


class CountrySimilarity(NamedTuple):
    mean: float  # over questions (each its countries' mean) or over pairs, see ``average``
    std: float  # sample std of the per-country means
    per_country: dict[str, float]
    n: int  # finite (question, country) similarities
    per_question: dict[str, float]


def aggregate_similarity(
    triples: Iterable[tuple[str, str, float]], average: str = "question"
) -> CountrySimilarity:
    """Average ``(question, country, similarity)`` overall and per country; NaNs are dropped.

    ``average="question"`` (Durmus et al.: mean over a question's countries, then over
    questions) weighs every question once however many countries it has; ``"pair"`` is the
    flat mean over (question, country) pairs that the CultureBank code computes. The spread is
    ``statistics.stdev`` of the per-country means either way.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {', '.join(AVERAGES)}, not {average!r}")
    by_country: dict[str, list[float]] = defaultdict(list)
    by_question: dict[str, list[float]] = defaultdict(list)
    for question, country, sim in triples:
        if math.isfinite(sim):
            by_country[country].append(sim)
            by_question[question].append(sim)
    means = {c: statistics.fmean(v) for c, v in by_country.items()}
    per_question = {q: statistics.fmean(v) for q, v in by_question.items()}
    flat = [s for v in by_country.values() for s in v]
    units = list(per_question.values()) if average == "question" else flat
    overall = statistics.fmean(units) if units else math.nan
    std = statistics.stdev(means.values()) if len(means) > 1 else math.nan
    return CountrySimilarity(overall, std, means, len(flat), per_question)


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
    """The best macro-F1 of ``P(entail) > t`` over the original's thresholds (first best wins)."""
    y = [int(g) for g in gold]
    best = ThresholdF1(-1.0, math.nan)
    for t in thresholds:
        f1 = macro_f1(y, [int(p > t) for p in p_entail])
        if f1 > best.f1:
            best = ThresholdF1(f1, t)
    return best


CALI_FOLDS = 5


def premise_folds(premises: Sequence[Hashable], k: int = CALI_FOLDS, seed: int = 0) -> np.ndarray:
    """A fold (0..k-1) per item; items sharing a premise share a fold (seeded shuffle).

    CALI asks about 3 hypotheses per premise on average; keeping a premise's items together
    keeps what the threshold learns about one premise out of that premise's scores.
    """
    unique = list(dict.fromkeys(premises))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[i]: rank % k for rank, i in enumerate(order)}
    return np.array([fold_of[p] for p in premises], dtype=int)


class CrossValidatedF1(NamedTuple):
    f1: float  # macro-F1 of all out-of-fold predictions pooled
    thresholds: list[float]  # the threshold chosen for each fold, on the other folds


def cv_threshold_f1(
    gold: Sequence[bool],
    p_entail: Sequence[float],
    folds: Sequence[int],
    thresholds: Sequence[float] = CALI_THRESHOLDS,
) -> CrossValidatedF1:
    """Macro-F1 where each fold is predicted with the threshold best on the other folds."""
    y, p, f = np.asarray(gold, dtype=int), np.asarray(p_entail, dtype=float), np.asarray(folds)
    chosen, pred = [], np.zeros_like(y)
    for fold in range(int(f.max()) + 1 if len(f) else 0):
        rest = f != fold
        # a fold with nothing else to learn from (one premise) takes the first threshold
        t = best_threshold_f1(list(y[rest]), list(p[rest]), thresholds).threshold
        t = t if rest.any() else thresholds[0]
        chosen.append(t)
        pred = np.where(f == fold, (p > t).astype(int), pred)
    return CrossValidatedF1(macro_f1(list(y), list(pred)) if len(y) else math.nan, chosen)


def floor_f1(gold: Sequence[bool]) -> dict[str, float]:
    """Macro-F1 of the constant answers: what a model with no signal at all scores."""
    y = [int(g) for g in gold]
    return {"all_not_entail": macro_f1(y, [0] * len(y)), "all_entail": macro_f1(y, [1] * len(y))}


# -- Vectorised forms for bootstrap resampling (statistic(*arrays, axis=-1)) ------------------
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


def cv_threshold_f1_array(
    gold: np.ndarray,
    p_entail: np.ndarray,
    folds: np.ndarray,
    axis: int = -1,
    thresholds: Sequence[float] = CALI_THRESHOLDS,
) -> np.ndarray:
    """:func:`cv_threshold_f1` (the F1 only) along the last axis, the folds re-chosen per row."""
    pred = np.zeros_like(gold)
    for fold in range(int(folds.max()) + 1):
        rest = folds != fold
        scores = [
            macro_f1_binary(np.where(rest, gold, -1), np.where(rest, p_entail > t, -1), axis)
            for t in thresholds
        ]
        best = np.asarray(thresholds)[np.argmax(np.stack(scores), axis=0)]  # first best wins
        pred = np.where(folds == fold, p_entail > np.expand_dims(best, -1), pred)
    return macro_f1_binary(gold, pred, axis)


def correlation_resampled(
    model: np.ndarray, human: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean per-country r and pooled r for each row of question ``weights``.

    ``model`` and ``human`` are (questions x countries) means, NaN where missing; a country
    with fewer than 3 questions or a constant side has no r and is left out of the mean.
    """
    valid = np.isfinite(model) & np.isfinite(human)
    x, y = np.where(valid, model, 0.0), np.where(valid, human, 0.0)
    sums = [weights @ a for a in (valid.astype(float), x, y, x * x, y * y, x * y)]
    per_country = _r_from_sums(*sums)
    count = np.isfinite(per_country).sum(axis=-1)
    mean = np.nansum(per_country, axis=-1) / np.where(count > 0, count, np.nan)
    return mean, _r_from_sums(*(s.sum(axis=-1) for s in sums))


def _r_from_sums(*sums: np.ndarray) -> np.ndarray:
    n, sx, sy, sxx, syy, sxy = sums
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    # relative tolerance: a constant side leaves rounding residue, not exactly 0
    ok = (n >= 3) & (vx > 1e-12 * n * sxx) & (vy > 1e-12 * n * syy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, (n * sxy - sx * sy) / np.sqrt(np.where(ok, vx * vy, 1.0)), np.nan)


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
