"""Reading a judge's verdict out of its text, the way FastChat's llm_judge does.

Single-answer grading: the first ``[[x]]`` (x a number), else the first ``[x]``, else -1 (a
failed judgement, kept and counted, never silently dropped). Pairwise: ``[[A]]`` / ``[[B]]`` /
``[[C]]`` (tie); anything else is ``"error"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SCORE = re.compile(r"\[\[(\d+\.?\d*)\]\]")
SCORE_FALLBACK = re.compile(r"\[(\d+\.?\d*)\]")
FAILED = -1.0


def parse_score(judgement: str) -> float:
    """The rating in ``judgement``; -1 when it has none (FastChat's convention)."""
    match = SCORE.search(judgement) or SCORE_FALLBACK.search(judgement)
    return float(match.group(1)) if match else FAILED


def parse_verdict(judgement: str) -> str:
    """``"A"``, ``"B"``, ``"tie"`` or ``"error"`` from a pairwise judgement."""
    if "[[A]]" in judgement:
        return "A"
    if "[[B]]" in judgement:
        return "B"
    if "[[C]]" in judgement:
        return "tie"
    return "error"


def failure_rate(scores: Iterable[float]) -> float:
    """Share of judgements without a parseable rating (0 for none)."""
    values = list(scores)
    return sum(s == FAILED for s in values) / len(values) if values else 0.0


def combine_swapped(first: str, second: str) -> str:
    """One verdict from both orders: ``first`` judged (x, y), ``second`` judged (y, x).

    Returns ``"x"``, ``"y"`` or ``"tie"``: a win needs both orders to agree; a tie in one
    order and a win in the other, a contradiction, or an error count as a tie (FastChat's
    rule for inconsistent position-swapped judgements).
    """
    as_x = {"A": "x", "B": "y"}.get(first, "tie")
    swapped = {"A": "y", "B": "x"}.get(second, "tie")
    return as_x if as_x == swapped else "tie"
