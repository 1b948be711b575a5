"""Metrics for binary moral judgements, each with a 95% bootstrap confidence interval.

Pure functions over arrays of gold labels and predictions (``None`` = unparseable, N/A).
A metric value is a :class:`Estimate`: point value plus percentile bootstrap interval from
``scipy.stats.bootstrap`` (resampling items; seeded, so reruns print the same interval).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000


class Estimate(NamedTuple):
    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "ci_low": self.low, "ci_high": self.high}


def bootstrap(
    statistic: Callable[..., float | np.ndarray],
    *arrays: np.ndarray,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """Point value and percentile CI of ``statistic`` over paired per-item ``arrays``."""
    from scipy.stats import bootstrap as scipy_bootstrap

    value = float(statistic(*arrays))
    if len(arrays[0]) < 2 or np.all([np.all(a == a[0]) for a in arrays]):
        return Estimate(value, value, value)
    res = scipy_bootstrap(
        arrays,
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=resamples,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return Estimate(value, float(res.confidence_interval.low), float(res.confidence_interval.high))


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.mean(x, axis=axis))


def _macro_f1(gold: np.ndarray, pred: np.ndarray, axis: int = -1) -> np.ndarray:
    """Macro-F1 over the classes 0 and 1; an N/A prediction (-1) is a miss for both."""
    scores = []
    for cls in (0, 1):
        tp = np.sum((pred == cls) & (gold == cls), axis=axis)
        fp = np.sum((pred == cls) & (gold != cls), axis=axis)
        fn = np.sum((pred != cls) & (gold == cls), axis=axis)
        denom = 2 * tp + fp + fn
        scores.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return (scores[0] + scores[1]) / 2


def as_arrays(gold: Sequence[int], pred: Sequence[int | None]) -> tuple[np.ndarray, np.ndarray]:
    """Integer arrays with N/A predictions encoded as -1."""
    return np.asarray(gold, dtype=int), np.asarray([-1 if p is None else p for p in pred], int)


def judgement_metrics(
    gold: Sequence[int],
    pred: Sequence[int | None],
    pairs: Sequence[int | None] | None = None,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Accuracy, macro-F1, N/A rate, share predicted wrong, and (with pairs) consistency."""
    g, p = as_arrays(gold, pred)
    out = {
        "accuracy": bootstrap(_mean, (g == p).astype(float), seed=seed),
        "macro_f1": bootstrap(_macro_f1, g, p, seed=seed),
        "na_rate": bootstrap(_mean, (p == -1).astype(float), seed=seed),
        "wrong_share": bootstrap(_mean, (p == 1).astype(float), seed=seed),
    }
    if pairs is not None:
        both = pair_correctness(g == p, pairs)
        if len(both):
            out["pair_consistency"] = bootstrap(_mean, both.astype(float), seed=seed)
    return {k: v.as_dict() for k, v in out.items()}


def pair_correctness(correct: np.ndarray, pairs: Sequence[int | None]) -> np.ndarray:
    """Per minimal pair: True when both members are judged right."""
    members: dict[int, list[bool]] = {}
    for ok, pair in zip(correct, pairs, strict=True):
        if pair is not None:
            members.setdefault(pair, []).append(bool(ok))
    return np.array([all(v) for v in members.values() if len(v) == 2], dtype=bool)


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
