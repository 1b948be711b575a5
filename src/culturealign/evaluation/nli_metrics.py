"""Culturally aware NLI metrics (Huang & Yang 2023; CultureBank ``cultural_nli.py``).

Macro-F1 of ``P(entail) > t``, ``t in {0.6, 0.7, 0.8, 0.9, 1.0}``. The original picks ``t`` on
the scored items themselves; :func:`cv_threshold_f1` picks it on the other folds (5-fold,
grouped by premise) and scores each item with a threshold it did not help choose. The
``*_array`` / ``*_binary`` forms are vectorised for bootstrap resampling
(``statistic(*arrays, axis=-1)``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Sequence
from typing import NamedTuple

import numpy as np

CALI_THRESHOLDS: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9, 1.0)


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


def macro_f1_binary(gold: np.ndarray, pred: np.ndarray, axis: int = -1) -> np.ndarray:
    """:func:`macro_f1` for 0/1 arrays along ``axis``, over the classes present in either."""
    total: np.ndarray | float = 0.0
    present: np.ndarray | int = 0
    for cls in (0, 1):
        tp = np.sum((pred == cls) & (gold == cls), axis=axis)
        fp = np.sum((pred == cls) & (gold != cls), axis=axis)
        fn = np.sum((pred != cls) & (gold == cls), axis=axis)
        here = (tp + fp + fn) > 0
        total = total + np.where(here, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        present = present + here
    return np.asarray(total / np.maximum(present, 1))


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
