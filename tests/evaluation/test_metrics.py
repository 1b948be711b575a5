import numpy as np
from scipy import stats

from culturealign.evaluation.metrics import bootstrap, judgement_metrics, pair_correctness


def test_hand_computed_metrics():
    gold = [1, 1, 0, 0, 1, 0]
    pred = [1, 0, 0, None, 1, 0]
    m = judgement_metrics(gold, pred, pairs=[0, 0, 1, 1, 2, 2])
    assert m["accuracy"]["value"] == 4 / 6
    # class 1: tp=2 fp=0 fn=1 -> F1 4/5; class 0: tp=2 fp=1 fn=1 (the N/A) -> 4/6
    assert np.isclose(m["macro_f1"]["value"], (4 / 5 + 4 / 6) / 2)
    assert m["na_rate"]["value"] == 1 / 6
    assert m["wrong_share"]["value"] == 2 / 6
    assert m["pair_consistency"]["value"] == 1 / 3  # only pair 2 is fully right


def test_bootstrap_ci_matches_scipy():
    rng = np.random.default_rng(1)
    x = (rng.random(300) < 0.7).astype(float)
    ours = bootstrap(lambda a, axis=-1: np.mean(a, axis=axis), x, seed=3)
    ref = stats.bootstrap(
        (x,), np.mean, n_resamples=2000, method="percentile", rng=np.random.default_rng(3)
    )
    assert np.isclose(ours.low, ref.confidence_interval.low)
    assert np.isclose(ours.high, ref.confidence_interval.high)
    # and the interval is the textbook one to within a point
    se = np.sqrt(x.mean() * (1 - x.mean()) / len(x))
    assert abs(ours.low - (x.mean() - 1.96 * se)) < 0.01


def test_pair_correctness_ignores_unpaired():
    assert pair_correctness(np.array([True, True, False, True]), [0, 0, None, 1]).tolist() == [True]
