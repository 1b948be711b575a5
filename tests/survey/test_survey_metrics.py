"""Survey metrics against hand-computed cases and the reference implementations."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import pearsonr
from sklearn.metrics import f1_score

from culturealign.evaluation.nli_metrics import (
    best_threshold_f1,
    cv_threshold_f1,
    cv_threshold_f1_array,
    floor_f1,
    macro_f1,
    premise_folds,
)
from culturealign.evaluation.opinion_metrics import (
    aggregate_similarity,
    culturebank_similarity,
    js_distance,
    opinion_similarity,
)
from culturealign.evaluation.wvs_metrics import (
    MeanPair,
    compare_groups,
    correlation_resampled,
    culturespa_score,
    mean_score,
    normalised_mean,
    parse_first_integer,
    pearson,
    question_centred,
    wvs_correlations,
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


def test_aggregate_similarity_per_question_first_then_pairs_on_request():
    triples = [("q1", "A", 0.9), ("q1", "B", 0.7), ("q2", "A", 0.5), ("q3", "C", float("nan"))]
    agg = aggregate_similarity(triples)
    # Durmus et al.: q1's countries average to 0.8, then questions: (0.8 + 0.5) / 2
    assert agg.mean == pytest.approx((0.8 + 0.5) / 2)
    assert agg.per_question == pytest.approx({"q1": 0.8, "q2": 0.5})
    assert agg.per_country == pytest.approx({"A": 0.7, "B": 0.7})
    assert agg.std == pytest.approx(0.0)
    assert agg.n == 3
    flat = aggregate_similarity(triples, average="pair")  # what the CultureBank code computes
    assert flat.mean == pytest.approx((0.9 + 0.7 + 0.5) / 3)
    with pytest.raises(ValueError, match="average"):
        aggregate_similarity(triples, average="country")


def test_pearson_matches_scipy_and_guards_degenerate_input():
    x, y = [1.0, 2.0, 3.0, 4.5], [2.0, 1.0, 4.0, 5.0]
    r = pearson(x, y)
    assert r.r == pytest.approx(pearsonr(x, y).statistic)
    assert r.n == 4
    assert math.isnan(pearson([1, 2, 3], [1, 1, 1]).r)
    assert math.isnan(pearson([1, 2], [1, 2]).r)
    assert pearson([1, 2, 3, math.nan], [1, 2, 4, 9]).n == 3


def test_wvs_correlations_per_country_then_mean():
    rows = [
        MeanPair("q1", "USA", "Ethics", 0.1, 0.2),
        MeanPair("q2", "USA", "Ethics", 0.5, 0.4),
        MeanPair("q3", "USA", None, 0.9, 0.9),
        MeanPair("q1", "IND", "Ethics", 0.3, 0.1),
        MeanPair("q2", "IND", "Ethics", 0.2, 0.5),
        MeanPair("q3", "IND", None, 0.8, 0.6),
    ]
    corr = wvs_correlations(rows)
    usa = pearsonr([0.1, 0.5, 0.9], [0.2, 0.4, 0.9]).statistic
    ind = pearsonr([0.3, 0.2, 0.8], [0.1, 0.5, 0.6]).statistic
    assert corr.per_country["USA"].r == pytest.approx(usa)
    assert corr.r == pytest.approx((usa + ind) / 2)
    assert corr.pooled.n == 6
    assert corr.pooled.r == pytest.approx(
        pearsonr([r.model for r in rows], [r.human for r in rows])[0]
    )
    # centred: each question's mean over the two countries subtracted from both sides
    x = [-0.1, 0.15, 0.05, 0.1, -0.15, -0.05]
    y = [0.05, -0.05, 0.15, -0.05, 0.05, -0.15]
    assert corr.centred.r == pytest.approx(pearsonr(x, y).statistic)


def _fake_survey(n_q: int = 40, countries: str = "ABCDEF", seed: int = 0) -> list[MeanPair]:
    """Human means: big differences between questions, smaller ones between countries."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.1, 0.9, n_q)
    return [
        MeanPair(f"q{i}", c, None, math.nan, float(base[i] + rng.normal(0, 0.08)))
        for i in range(n_q)
        for c in countries
    ]


def test_culture_blind_model_scores_high_on_pooled_and_per_country_r_but_not_centred():
    """A model that answers every country with the question's mean over countries.

    The pooled r was the headline: it rewards knowing which questions people agree with
    everywhere. The per-country r (Kim & Baek's statistic, now the headline) rewards the same,
    so it is no test of cultural knowledge either; the centred r is undefined for it.
    """
    humans = _fake_survey()
    by_q: dict[str, list[float]] = {}
    for r in humans:
        by_q.setdefault(r.question, []).append(r.human)
    blind = [r._replace(model=statistics.fmean(by_q[r.question])) for r in humans]
    corr = wvs_correlations(blind)
    assert corr.pooled.r > 0.9 and corr.r > 0.9
    assert math.isnan(corr.centred.r)
    rng = np.random.default_rng(1)  # a model that knows each country's own answers, noisily
    aware = [r._replace(model=r.human + rng.normal(0, 0.04)) for r in humans]
    assert wvs_correlations(aware).centred.r > 0.7


def test_correlation_resampled_equals_point_values_and_resamples_questions():
    rows = _fake_survey(n_q=12, countries="ABC")
    rng = np.random.default_rng(3)
    rows = [r._replace(model=r.human + rng.normal(0, 0.2)) for r in rows]
    model = np.array([r.model for r in rows]).reshape(12, 3)
    human = np.array([r.human for r in rows]).reshape(12, 3)
    model[0, 1] = np.nan  # a missing pair
    rows = [r for r in rows if not (r.question == "q0" and r.country == "B")]
    corr = wvs_correlations(rows)
    mean, pooled = correlation_resampled(model, human, np.ones((1, 12)))
    assert mean[0] == pytest.approx(corr.r) and pooled[0] == pytest.approx(corr.pooled.r)
    counts = np.array([[2, 0, 1, 1, 3, 0, 1, 1, 1, 0, 1, 1]], dtype=float)
    picked = [r for r in rows for _ in range(int(counts[0, int(r.question[1:])]))]
    mean, pooled = correlation_resampled(model, human, counts)
    assert mean[0] == pytest.approx(wvs_correlations(picked).r)
    assert pooled[0] == pytest.approx(wvs_correlations(picked).pooled.r)
    blind = np.repeat(human.mean(axis=1, keepdims=True), 3, axis=1)
    pairs = [
        MeanPair(f"q{i}", c, None, blind[i, j], human[i, j])
        for i in range(12)
        for j, c in enumerate("ABC")
    ]
    centred = question_centred(pairs)
    cm = np.array([p.model for p in centred]).reshape(12, 3)
    ch = np.array([p.human for p in centred]).reshape(12, 3)
    assert np.isnan(correlation_resampled(cm, ch, np.ones((1, 12)))[1][0])


def test_compare_groups():
    cmp = compare_groups({"USA": 0.8, "GBR": 0.6, "IND": 0.4, "KEN": math.nan}, {"USA", "GBR"})
    assert cmp == pytest.approx((0.7, 0.4, 0.3))


def test_macro_f1_matches_sklearn():
    rng = np.random.default_rng(2)
    cases = [([1, 0, 1, 1], [0, 0, 0, 0]), ([0, 0], [0, 0]), ([1, 1, 0], [1, 1, 1])]
    cases += [(list(rng.integers(0, 2, 30)), list(rng.integers(0, 2, 30))) for _ in range(20)]
    for gold, pred in cases:
        ref = f1_score(gold, pred, average="macro", zero_division=0)
        assert macro_f1(gold, pred) == pytest.approx(ref)


def test_best_threshold_f1_by_hand():
    gold = [True, True, False, False]
    probs = [0.95, 0.65, 0.75, 0.1]
    # t=0.6 -> pred 1,1,1,0: F1(1)=0.8, F1(0)=2/3; t=0.7 -> 1,0,1,0: 0.5/0.5; t=0.8 -> 1,0,0,0:
    # F1(1)=2/3, F1(0)=0.8 (tie with 0.6, the first threshold wins)
    best = best_threshold_f1(gold, probs)
    assert best.f1 == pytest.approx((0.8 + 2 / 3) / 2)
    assert best.threshold == 0.6


def test_floor_f1_is_what_constant_answers_score():
    gold = [True] * 3 + [False] * 7
    floors = floor_f1(gold)
    assert floors["all_not_entail"] == pytest.approx(f1_score(gold, [0] * 10, average="macro"))
    assert floors["all_not_entail"] == pytest.approx(7 / (2 * 7 + 3))
    assert floors["all_entail"] == pytest.approx(3 / (2 * 3 + 7))
    # t = 1.0 predicts "not entail" everywhere: the in-sample protocol can never fall below it
    assert best_threshold_f1(gold, [0.5] * 10).f1 == pytest.approx(floors["all_not_entail"])


def test_premise_folds_keep_a_premise_together_and_are_seeded():
    premises = [f"p{i // 3}" for i in range(60)]
    folds = premise_folds(premises)
    assert all(len({folds[i] for i in range(j, j + 3)}) == 1 for j in range(0, 60, 3))
    assert sorted(np.bincount(folds)) == [12] * 5
    assert list(folds) == list(premise_folds(premises))
    assert list(folds) != list(premise_folds(premises, seed=1))


def test_cv_threshold_f1_scores_each_fold_with_a_threshold_chosen_elsewhere():
    # fold 0 alone prefers t = 0.9 (its own positives sit at 0.95, negatives at 0.85), but
    # fold 1 prefers t = 0.6 and chooses it for fold 0
    gold = [True, False, True, False, True, False]
    p = [0.95, 0.85, 0.65, 0.55, 0.7, 0.5]
    folds = [0, 0, 1, 1, 1, 1]
    assert best_threshold_f1(gold[:2], p[:2]).threshold == 0.9
    cv = cv_threshold_f1(gold, p, folds)
    assert cv.thresholds == [0.6, 0.9]
    pred = [1, 1, 0, 0, 0, 0]  # fold 0 at 0.6; fold 1 at 0.9
    assert cv.f1 == pytest.approx(f1_score(gold, pred, average="macro"))
    assert cv.f1 < best_threshold_f1(gold, p).f1  # the in-sample choice flatters


def test_cv_threshold_f1_array_matches_the_scalar_form():
    rng = np.random.default_rng(4)
    for _ in range(10):
        gold = rng.integers(0, 2, 50)
        p = rng.uniform(0.4, 1.0, 50)
        folds = premise_folds([str(i // 2) for i in range(50)], seed=int(rng.integers(9)))
        ref = cv_threshold_f1(list(gold.astype(bool)), list(p), list(folds)).f1
        assert float(cv_threshold_f1_array(gold, p, folds)) == pytest.approx(ref)
        rows = rng.integers(0, 50, (3, 50))  # as scipy's bootstrap calls it: one draw per row
        batch = cv_threshold_f1_array(gold[rows], p[rows], folds[rows])
        for k in range(3):
            one = cv_threshold_f1(list(gold[rows[k]]), list(p[rows[k]]), list(folds[rows[k]]))
            assert batch[k] == pytest.approx(one.f1)
