"""Survey metrics against hand-computed cases and the reference implementations."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import pearsonr

from culturealign.evaluation.survey_metrics import (
    MeanPair,
    aggregate_similarity,
    best_threshold_f1,
    compare_groups,
    correlation_table,
    culturebank_similarity,
    culturespa_score,
    js_distance,
    macro_f1,
    mean_score,
    normalised_mean,
    opinion_similarity,
    parse_first_integer,
    pearson,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("I choose 3.", 3), ("0.Never", 0), ("10", 10), ("11", None), ("none", None)],
)
def test_parse_first_integer(text, expected):
    assert parse_first_integer(text) == expected


def test_parse_tries_only_the_first_integer():
    assert parse_first_integer("Between 12 and 3, I pick 3") is None


def test_culturespa_score_by_hand():
    # ||(1,4)-(2,4)|| = 1; normaliser ||(1,1)-(4,4)|| = sqrt(18)
    assert culturespa_score([1, 4], [2, 4], [4, 4]) == pytest.approx(1 - 1 / math.sqrt(18))
    # an unparsed answer leaves the normaliser too: only question 2 (n=10) counts
    assert culturespa_score([None, 7], [2, 4], [4, 10]) == pytest.approx(1 - 3 / 9)
    assert math.isnan(culturespa_score([None], [1], [4]))
    assert culturespa_score([3, 1], [3, 1], [5, 2]) == 1.0


def test_mean_score_drops_unscored_options_and_renormalises():
    assert mean_score([0.5, 0.5, 0.0], [1, 2, None]) == pytest.approx(1.5)
    assert mean_score([0.25, 0.25, 0.5], [1, 2, None]) == pytest.approx(1.5)
    assert mean_score([0.2, 0.3, 0.5], [1, 2, 3]) == pytest.approx(0.2 + 0.6 + 1.5)
    assert normalised_mean(2.5, (1, 4)) == pytest.approx(0.5)


@pytest.mark.parametrize("base", [math.e, 2.0])
def test_js_distance_matches_scipy(base):
    rng = np.random.default_rng(0)
    for k in (2, 4, 7):
        p, q = rng.random(k), rng.random(k)
        q[0] = 0.0  # zeros are allowed
        assert js_distance(p, q, base) == pytest.approx(jensenshannon(p, q, base=base), abs=1e-12)
    assert opinion_similarity([0.2, 0.8], [0.2, 0.8]) == pytest.approx(1.0)
    assert opinion_similarity([1, 0], [0, 1], base=2) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        js_distance([0, 0], [1, 0])


def test_culturebank_similarity_matches_the_released_torch_code():
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional

    def original(p, q, eps=1e-12):  # CultureBank world_value_survey.py JSDist, verbatim maths
        m = 0.5 * (p + q)
        log_m = torch.log(m + eps)
        kl_p_m = functional.kl_div(log_m, p, reduction="batchmean")
        kl_q_m = functional.kl_div(log_m, q, reduction="batchmean")
        return 1.0 - torch.sqrt(0.5 * (kl_p_m + kl_q_m)).item()

    rng = np.random.default_rng(1)
    for k in (2, 5, 11):
        pred = rng.random(k)
        pred /= pred.sum()
        gold = rng.random(k)
        gold[-1] = 0.0
        gold /= gold.sum()
        ref = original(torch.tensor(pred), torch.tensor(gold))
        assert culturebank_similarity(pred, gold) == pytest.approx(ref, abs=1e-9)
        # it is 1 - sqrt(JS divergence / K), not the paper's 1 - JS distance
        div = jensenshannon(pred, gold) ** 2
        assert culturebank_similarity(pred, gold) == pytest.approx(1 - math.sqrt(div / k), abs=1e-6)


def test_aggregate_similarity_over_pairs_and_std_of_country_means():
    pairs = [("A", 0.9), ("A", 0.7), ("B", 0.5), ("C", float("nan"))]
    agg = aggregate_similarity(pairs)
    assert agg.mean == pytest.approx((0.9 + 0.7 + 0.5) / 3)  # pairs, not countries, weigh
    assert agg.per_country == pytest.approx({"A": 0.8, "B": 0.5})
    assert agg.std == pytest.approx(statistics.stdev([0.8, 0.5]))
    assert agg.n == 3


def test_pearson_matches_scipy_and_guards_degenerate_input():
    x, y = [1.0, 2.0, 3.0, 4.5], [2.0, 1.0, 4.0, 5.0]
    r = pearson(x, y)
    assert r.r == pytest.approx(pearsonr(x, y).statistic)
    assert r.n == 4
    assert math.isnan(pearson([1, 2, 3], [1, 1, 1]).r)
    assert math.isnan(pearson([1, 2], [1, 2]).r)
    assert pearson([1, 2, 3, math.nan], [1, 2, 4, 9]).n == 3


def test_correlation_table_groups():
    rows = [
        MeanPair("q1", "USA", "Ethics", 0.1, 0.2),
        MeanPair("q2", "USA", "Ethics", 0.5, 0.4),
        MeanPair("q3", "USA", None, 0.9, 0.9),
        MeanPair("q1", "IND", "Ethics", 0.3, 0.1),
    ]
    table = correlation_table(rows)
    assert table["overall"]["all"].n == 4
    assert table["category"]["Ethics"].n == 3
    assert set(table["country"]) == {"USA", "IND"}
    assert table["country"]["USA"].r == pytest.approx(pearsonr([0.1, 0.5, 0.9], [0.2, 0.4, 0.9])[0])


def test_compare_groups():
    cmp = compare_groups({"USA": 0.8, "GBR": 0.6, "IND": 0.4, "KEN": math.nan}, {"USA", "GBR"})
    assert cmp == pytest.approx((0.7, 0.4, 0.3))


def test_macro_f1_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    cases = [([1, 0, 1, 1], [0, 0, 0, 0]), ([0, 0], [0, 0]), ([1, 1, 0], [1, 1, 1])]
    cases += [(list(rng.integers(0, 2, 30)), list(rng.integers(0, 2, 30))) for _ in range(20)]
    for gold, pred in cases:
        ref = metrics.f1_score(gold, pred, average="macro", zero_division=0)
        assert macro_f1(gold, pred) == pytest.approx(ref)


def test_best_threshold_f1_by_hand():
    gold = [True, True, False, False]
    probs = [0.95, 0.65, 0.75, 0.1]
    # t=0.6 -> pred 1,1,1,0: F1(1)=0.8, F1(0)=2/3; t=0.7 -> 1,0,1,0: 0.5/0.5; t=0.8 -> 1,0,0,0:
    # F1(1)=2/3, F1(0)=0.8 (tie with 0.6, the first threshold wins)
    best = best_threshold_f1(gold, probs)
    assert best.f1 == pytest.approx((0.8 + 2 / 3) / 2)
    assert best.threshold == 0.6
