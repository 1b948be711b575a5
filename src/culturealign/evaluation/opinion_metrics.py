"""GlobalOpinionQA similarity (Durmus et al. 2023), and what the CultureBank code computes.

``1 - JSD(P_model, P_country)``, JSD the Jensen-Shannon distance, averaged over a question's
countries, then over questions (or, as the CultureBank code does, over all (question, country)
pairs); the spread is the sample standard deviation of the per-country means.
:func:`culturebank_similarity` is what the CultureBank code computes instead:
``1 - sqrt(JS divergence / K)``. docs/tasks/survey.md has the derivations.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np


def _as_dist(p: Sequence[float]) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    total = arr.sum()
    if arr.ndim != 1 or total <= 0 or (arr < 0).any():
        raise ValueError("a distribution needs non-negative entries with a positive sum")
    return np.asarray(arr / total)


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
