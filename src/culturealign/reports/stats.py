"""Paired comparisons of two rows evaluated on the same test items.

Two rows of the table answer the very same items, so their accuracies are compared with paired
tests: McNemar's exact (binomial) test on the discordant items, and a paired bootstrap interval
of the accuracy difference. Both reuse library code (statsmodels, and the seeded scipy bootstrap
in :mod:`culturealign.evaluation.metrics`) rather than re-deriving the maths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from culturealign.evaluation.metrics import Estimate, bootstrap


class McNemar(NamedTuple):
    only_a: int  # items row A gets right and row B wrong
    only_b: int  # items row B gets right and row A wrong
    pvalue: float


def mcnemar_exact(correct_a: ArrayLike, correct_b: ArrayLike) -> McNemar:
    """Exact McNemar test (two-sided binomial test on the discordant pairs)."""
    from statsmodels.stats.contingency_tables import mcnemar

    a, b = _paired(correct_a, correct_b)
    table = [
        [int(np.sum(a & b)), int(np.sum(a & ~b))],
        [int(np.sum(~a & b)), int(np.sum(~a & ~b))],
    ]
    only_a, only_b = table[0][1], table[1][0]
    if only_a + only_b == 0:
        return McNemar(0, 0, 1.0)  # no discordant item: the rows cannot differ
    result = mcnemar(table, exact=True)
    return McNemar(only_a, only_b, float(result.pvalue))


def accuracy_difference(correct_a: ArrayLike, correct_b: ArrayLike, seed: int = 0) -> Estimate:
    """Accuracy of B minus accuracy of A with a paired percentile bootstrap 95% CI."""
    a, b = _paired(correct_a, correct_b)
    diff = b.astype(float) - a.astype(float)
    return bootstrap(_mean, diff, seed=seed)


def mean_estimate(values: ArrayLike, seed: int = 0) -> Estimate:
    """Mean of per-item scores (a judge's ratings) with a percentile bootstrap 95% CI."""
    return bootstrap(_mean, np.asarray(values, dtype=float), seed=seed)


def score_difference(
    values_a: ArrayLike, values_b: ArrayLike, seed: int = 0
) -> tuple[Estimate, float]:
    """Mean of B minus A over paired per-item scores: bootstrap 95% CI and the two-sided
    Wilcoxon signed-rank p (scores on a 1-10 scale or P(Yes) need not be normal)."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    diff = b - a
    pvalue = 1.0 if not np.any(diff) else float(wilcoxon(diff).pvalue)
    return bootstrap(_mean, diff, seed=seed), pvalue


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values: many row pairs are tested, so control the family-wise error."""
    from statsmodels.stats.multitest import multipletests

    if not len(pvalues):
        return []
    return [float(p) for p in multipletests(list(pvalues), method="holm")[1]]


def rank_marks(values: Sequence[float | None]) -> list[str | None]:
    """'best' / 'second' for the highest and second-highest distinct values (ties share a mark)."""
    distinct = sorted({v for v in values if v is not None}, reverse=True)
    marks = {distinct[0]: "best"} if distinct else {}
    if len(distinct) > 1:
        marks[distinct[1]] = "second"
    return [marks.get(v) if v is not None else None for v in values]


def _paired(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.shape} vs {y.shape}")
    return x, y


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.mean(x, axis=axis))
