"""Is the judge good enough? Answers of known quality, graded by the judge in use.

From Japanese MT-Bench questions that have a reference answer: the reference is the good
answer; three broken answers are made from it (our choice of breakages): ``truncated`` (its
first 15%), ``off_topic`` (the reference answer of a question from another category) and
``wrong_language`` (a fluent English answer that addresses nothing; the judge prompts say an
answer in another language than the user's must lose points). The judge is right on a pair
when it rates the good answer strictly higher (single-answer, ``single-v1``: the reference is
the good answer, so the reference-based prompt would give it away), or, pairwise, when it
prefers the good answer in both orders. A judge near chance here cannot rank models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from culturealign.data.mt_bench import MTBenchQuestion
from culturealign.judging.judges import Judge
from culturealign.judging.prompts import PAIR_V2, JudgePrompt

WRONG_LANGUAGE = (
    "Thank you for your question. There are many aspects to consider here, and the answer "
    "depends on the context. In general, it is best to think carefully, weigh the options and "
    "choose the approach that fits your situation."
)
BREAKAGES = ("truncated", "off_topic", "wrong_language")


@dataclass(frozen=True)
class CalibrationPair:
    id: str
    question: str
    good: str
    bad: str
    breakage: str


def calibration_pairs(
    questions: list[MTBenchQuestion], limit: int | None = None
) -> list[CalibrationPair]:
    """Three pairs (one per breakage) for each of the first ``limit`` referenced questions."""
    usable = [q for q in questions if q.references]
    usable = usable[:limit] if limit else usable
    pairs = []
    for i, q in enumerate(usable):
        ref = q.references[0]
        other = (
            next((o for o in usable[i + 1 :] + usable[:i] if o.category != q.category), None)
            or usable[(i + 1) % len(usable)]
        )
        bad = {
            "truncated": ref[: max(10, len(ref) * 15 // 100)],
            "off_topic": other.references[0],
            "wrong_language": WRONG_LANGUAGE,
        }
        for kind in BREAKAGES:
            pairs.append(CalibrationPair(f"q{q.id}-{kind}", q.turns[0], ref, bad[kind], kind))
    return pairs


def run_calibration(
    judge: Judge, prompt: JudgePrompt, pairs: list[CalibrationPair], pairwise: bool = False
) -> dict[str, Any]:
    """Accuracy (good rated above bad) per breakage and overall, the judge's failure rate, and
    every judgement (kept in the judge's cache)."""
    goods = judge.single(prompt, [{"question": p.question, "answer": p.good} for p in pairs])
    bads = judge.single(prompt, [{"question": p.question, "answer": p.bad} for p in pairs])
    rows = []
    for p, g, b in zip(pairs, goods, bads, strict=True):
        rows.append(
            {
                "id": p.id,
                "breakage": p.breakage,
                "good_score": g["score"],
                "bad_score": b["score"],
                "correct": b["score"] >= 0 and g["score"] > b["score"],  # unrated = wrong
                "good_judgement": g["judgement"],
                "bad_judgement": b["judgement"],
            }
        )
    if pairwise:
        asks = [{"question": p.question, "answer_x": p.good, "answer_y": p.bad} for p in pairs]
        for row, res in zip(rows, judge.pairwise(PAIR_V2, asks), strict=True):
            row["pairwise_winner"] = res["winner"]
            row["pairwise_verdicts"] = res["verdicts"]
    scores = [r["good_score"] for r in rows] + [r["bad_score"] for r in rows]
    report: dict[str, Any] = {
        "judge": judge.name,
        "prompt": prompt.name,
        "pairs": len(rows),
        "accuracy": _share([r["correct"] for r in rows]),
        "per_breakage": {
            k: _share([r["correct"] for r in rows if r["breakage"] == k]) for k in BREAKAGES
        },
        "failure_rate": _share([s < 0 for s in scores]),
        "chance": "single: a judge that rates at random is right ~45% (ties lose); pairwise: 25%",
        "rows": rows,
    }
    if pairwise:
        report["pairwise_accuracy"] = _share([r["pairwise_winner"] == "x" for r in rows])
    return report


def _share(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None
