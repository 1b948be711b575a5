"""McNemar and the paired bootstrap against scipy/statsmodels reference computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from culturealign.reports.stats import accuracy_difference, holm, mcnemar_exact, rank_marks


def _pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random(n) < 0.6
    b = np.where(rng.random(n) < 0.8, a, ~a)  # correlated, as two rows on the same items are
    return a, b


def test_mcnemar_hand_computed():
    # 10 items only A gets right, 2 only B: p = 2 * P(X <= 2), X ~ Bin(12, 1/2)
    a = np.array([True] * 10 + [False] * 2 + [True] * 5 + [False] * 3)
    b = np.array([False] * 10 + [True] * 2 + [True] * 5 + [False] * 3)
    result = mcnemar_exact(a, b)
    assert (result.only_a, result.only_b) == (10, 2)
    assert result.pvalue == pytest.approx(2 * (1 + 12 + 66) / 4096, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_mcnemar_matches_scipy_binomtest(seed):
    a, b = _pairs(200, seed)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    expected = stats.binomtest(min(only_a, only_b), only_a + only_b, 0.5).pvalue
    result = mcnemar_exact(a, b)
    assert (result.only_a, result.only_b) == (only_a, only_b)
    assert result.pvalue == pytest.approx(expected, rel=1e-9)


def test_mcnemar_no_discordant_items():
    a = np.array([True, False, True])
    assert mcnemar_exact(a, a).pvalue == 1.0


def test_mcnemar_length_mismatch():
    with pytest.raises(ValueError, match="differ in length"):
        mcnemar_exact([True], [True, False])


@pytest.mark.parametrize("seed", range(3))
def test_accuracy_difference_matches_scipy_bootstrap(seed):
    a, b = _pairs(150, seed)
    diff = b.astype(float) - a.astype(float)
    ref = stats.bootstrap(
        (diff,),
        np.mean,
        n_resamples=2000,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(7),
    )
    got = accuracy_difference(a, b, seed=7)
    assert got.value == pytest.approx(b.mean() - a.mean())
    assert got.low == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert got.high == pytest.approx(ref.confidence_interval.high, abs=1e-12)


def test_holm_matches_hand_computation():
    p = [0.01, 0.04, 0.03, 0.5]
    # sorted: 0.01*4, 0.03*3, 0.04*2, 0.5*1, then made monotone
    assert holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([]) == []


def test_rank_marks_ties_and_gaps():
    assert rank_marks([0.5, 0.7, None, 0.7, 0.6]) == [None, "best", None, "best", "second"]
    assert rank_marks([None, None]) == [None, None]
    assert rank_marks([0.3]) == ["best"]


def test_score_difference_is_paired_and_tests_with_wilcoxon():
    from scipy.stats import wilcoxon

    from culturealign.reports.stats import mean_estimate, score_difference

    a = [5.0, 6.0, 4.0, 7.0, 5.0, 6.0, 3.0, 8.0]
    b = [6.0, 7.5, 4.0, 8.0, 7.0, 6.5, 4.0, 9.0]
    diff, p = score_difference(a, b)
    assert diff.value == pytest.approx(sum(b) / 8 - sum(a) / 8)
    assert diff.low <= diff.value <= diff.high and diff.low > 0  # every change is >= 0
    assert p == pytest.approx(wilcoxon([y - x for x, y in zip(a, b, strict=True)]).pvalue)
    assert score_difference(a, a)[1] == 1.0  # no change: nothing to test
    est = mean_estimate(a)
    assert est.value == pytest.approx(5.5) and est.low < 5.5 < est.high
    with pytest.raises(ValueError, match="differ in length"):
        score_difference(a, b[:-1])
