"""FastChat llm_judge's score / verdict formats, and the position-swap rule."""

from __future__ import annotations

import pytest

from culturealign.judging import combine_swapped, failure_rate, parse_score, parse_verdict
from culturealign.judging.parsing import FAILED


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("The answer is helpful and accurate. Rating: [[8]]", 8.0),  # single-v1's format
        ("評価：[[5]]", 5.0),  # judge_ja_prompts' format
        ("Rating: [[7.5]]", 7.5),
        ("I would rate it [[3]], maybe [[9]]", 3.0),  # the first match wins
        ("Rating: [6]", 6.0),  # FastChat's one-bracket fallback
        ("[[rating]] ... final: [[10]]", 10.0),
        ("See [note] then [[2]]", 2.0),  # [[x]] first, even when a [..] comes earlier
        ("Rating: 8/10", FAILED),  # no brackets: a failed judgement
        ("", FAILED),
        ("Rating: [[-3]]", FAILED),  # FastChat's pattern has no sign
    ],
)
def test_parse_score_follows_fastchat(text, score):
    assert parse_score(text) == score


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Assistant A is clearly better. [[A]]", "A"),
        ("[[B]]", "B"),
        ("Both are equally good: [[C]]", "tie"),
        ("A is better", "error"),
    ],
)
def test_parse_verdict(text, verdict):
    assert parse_verdict(text) == verdict


@pytest.mark.parametrize(
    ("first", "second", "winner"),
    [
        ("A", "B", "x"),  # x first as A, then as B: x both times
        ("B", "A", "y"),
        ("A", "A", "tie"),  # position bias: inconsistent -> tie
        ("B", "B", "tie"),
        ("tie", "A", "tie"),
        ("A", "tie", "tie"),
        ("tie", "tie", "tie"),
        ("error", "B", "tie"),
    ],
)
def test_combine_swapped(first, second, winner):
    assert combine_swapped(first, second) == winner


def test_failure_rate():
    assert failure_rate([5.0, FAILED, 7.0, FAILED]) == 0.5
    assert failure_rate([]) == 0.0
