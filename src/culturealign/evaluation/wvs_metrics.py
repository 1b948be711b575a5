"""WVS metrics of the survey tasks (CultureSPA score, mean-score correlations), as the papers
(or their released code) define them.

Pure numpy/scipy functions over plain numbers, so they can be checked against hand-computed
cases and the reference implementations (docs/tasks/survey.md has the derivations):

* CultureSPA score of a country (Xu et al. 2025, ``result_analysis_run_3.py``)::

      S_c = 1 - ||a - g||_2 / ||1 - n||_2

  over the questions whose answer parsed (first integer in 0..10) and that have a gold
  answer; ``a`` the parsed answers, ``g`` the country's majority options, ``n`` the numbers
  of options. The paper reports ``100 * S_c`` and its mean over the 18 countries.
* WVS mean-score correlation (Kim & Baek 2024): ``mu = sum_i p_i s_i`` for model and humans;
  headline = Pearson r per country over that country's questions, averaged over countries
  (unweighted; per category the same within the category's questions). Secondary: r pooled
  over (question, country) pairs, and r of the question-centred means (cultural signal only).

The ``*_resampled`` forms compute the same statistics for many bootstrap draws of questions at
once (see :func:`~culturealign.evaluation.metrics.question_weights`).
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

_FIRST_INT = re.compile(r"\d+")


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
        return np.asarray(np.nanmean(per_country, axis=-1))
