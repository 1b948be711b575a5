"""Pair extraction from JCM, pair files, and the pair-accuracy metric."""

from __future__ import annotations

import json

import pytest

from culturealign.data.records import Judgement, JudgementSet
from culturealign.errors import CultureAlignError
from culturealign.rewards.pairs import minimal_pairs, pair_accuracy, read_pair_file


def _set(rows):
    from culturealign.data.records import mark_minimal_pairs

    items = [Judgement(f"x-{i}", text, label) for i, (text, label) in enumerate(rows)]
    return JudgementSet("x", "test", "ja", mark_minimal_pairs(items), "mem", "0" * 64, [])


def test_minimal_pairs_orders_not_wrong_first_and_drops_same_label_rows():
    data = _set([("bad1", 1), ("ok1", 0), ("ok2", 0), ("ok3", 0), ("bad3", 1), ("bad4", 1)])
    pairs = minimal_pairs(data)
    # (bad1, ok1) pair; ok2 cannot pair with ok3 (same label) so ok2 is dropped; (ok3, bad3).
    assert [(p.chosen, p.rejected) for p in pairs] == [("ok1", "bad1"), ("ok3", "bad3")]


def test_no_pairs_is_an_error():
    with pytest.raises(CultureAlignError, match="no opposite-label"):
        minimal_pairs(_set([("a", 1), ("b", 1)]))


@pytest.mark.needs_data
def test_jcm_test_pairs_are_the_opposite_label_neighbours():
    from culturealign.data.judgements import load_jcm

    data = load_jcm("test")
    pairs = minimal_pairs(data)
    labels = {j.text: j.label for j in data.items}
    assert all(labels[p.chosen] == 0 and labels[p.rejected] == 1 for p in pairs)
    assert len(data.items) / 2 * 0.7 < len(pairs) <= len(data.items) / 2


def test_pair_accuracy_counts_wins_and_half_ties():
    acc = pair_accuracy([3.0, 1.0, 2.0, 5.0], [1.0, 2.0, 2.0, 0.0])
    assert acc.accuracy.value == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    assert acc.ties == 1 and acc.n_pairs == 4
    assert acc.accuracy.low <= acc.accuracy.value <= acc.accuracy.high


def test_constant_scorer_is_at_chance_and_ci_shrinks_with_n():
    assert pair_accuracy([0.0] * 10, [0.0] * 10).accuracy.value == 0.5
    small = pair_accuracy([1, 0] * 10, [0, 1] * 10).accuracy
    big = pair_accuracy([1, 0] * 500, [0, 1] * 500).accuracy
    assert (big.high - big.low) < (small.high - small.low)


def test_read_pair_file_bad_rows(tmp_path):
    good = tmp_path / "p.jsonl"
    good.write_text(json.dumps({"chosen": "a", "rejected": "b", "prompt": "q"}) + "\n")
    assert read_pair_file(good)[0].prompt == "q"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"chosen": "a"}\n')
    with pytest.raises(CultureAlignError, match="bad.jsonl:1"):
        read_pair_file(bad)
    with pytest.raises(CultureAlignError, match="not found"):
        read_pair_file(tmp_path / "missing.jsonl")
