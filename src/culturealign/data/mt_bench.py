"""Japanese MT-Bench (Stability-AI's FastChat fork, branch ``jp-stable``).

``question.jsonl``: 60 questions, 10 in each of the six categories Jinnai (2024) Table 5
reports; ``question_full.jsonl``: all 80 (adds coding and math). Two turns each. Reference
answers (``reference_answer/*.jsonl``) are used for the categories FastChat grades against a
reference (math, reasoning, coding). See ``shared/data/japanese_mt_bench/SOURCE.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from culturealign.data.sources import RemoteFile, locate, sha256_of
from culturealign.errors import CultureAlignError

_BASE = (
    "https://raw.githubusercontent.com/Stability-AI/FastChat/"
    "e37eb28ee490480f6f4989274ed47c55f7dfce82/fastchat/llm_judge/data/"
)
QUESTIONS = {
    "60": RemoteFile(
        "japanese_mt_bench/question.jsonl", _BASE + "japanese_mt_bench/question.jsonl"
    ),
    "80": RemoteFile(
        "japanese_mt_bench/question_full.jsonl", _BASE + "japanese_mt_bench/question_full.jsonl"
    ),
}
REFERENCES = {
    "gpt-4": RemoteFile(
        "japanese_mt_bench/reference_answer/gpt-4.jsonl",
        _BASE + "japanese_mt_bench/reference_answer/gpt-4.jsonl",
    ),
    "gpt-4o": RemoteFile(
        "japanese_mt_bench/reference_answer/base-gpt4o-with-human-annotation.jsonl",
        _BASE + "japanese_mt_bench/reference_answer/base-gpt4o-with-human-annotation.jsonl",
    ),
}
JUDGE_PROMPTS_JA = RemoteFile(
    "japanese_mt_bench/judge_ja_prompts.jsonl", _BASE + "judge_ja_prompts.jsonl"
)
CATEGORIES = ("extraction", "humanities", "reasoning", "roleplay", "stem", "writing")
ALL_CATEGORIES = ("coding", "math", *CATEGORIES)


@dataclass(frozen=True)
class MTBenchQuestion:
    id: int
    category: str
    turns: tuple[str, ...]
    references: tuple[str, ...] = ()  # reference answers per turn, when the set has one


@dataclass(frozen=True)
class MTBenchSet:
    questions: list[MTBenchQuestion]
    source: str
    sha256: str
    notes: list[str]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CultureAlignError(
                    f"{path}:{n}: not JSON ({exc.msg})", "re-download it"
                ) from exc
    return rows


def load_mt_bench_ja(
    questions: str = "60",
    reference: str = "gpt-4",
    data_dir: Path | None = None,
    limit: int | None = None,
) -> MTBenchSet:
    """The question set (``"60"`` or ``"80"``) with ``reference`` answers attached."""
    if questions not in QUESTIONS:
        raise CultureAlignError(f"unknown question set {questions!r}", "use questions=60 or 80")
    if reference not in REFERENCES:
        raise CultureAlignError(
            f"unknown reference set {reference!r}", f"choose one of: {', '.join(REFERENCES)}"
        )
    qpath = locate(QUESTIONS[questions], data_dir)
    rpath = locate(REFERENCES[reference], data_dir / "reference_answer" if data_dir else None)
    refs = {r["question_id"]: tuple(r["choices"][0]["turns"]) for r in _jsonl(rpath)}
    try:
        items = [
            MTBenchQuestion(
                int(r["question_id"]),
                r["category"],
                tuple(r["turns"]),
                refs.get(r["question_id"], ()),
            )
            for r in _jsonl(qpath)
        ]
    except (KeyError, TypeError) as exc:
        raise CultureAlignError(
            f"{qpath}: a row lacks question_id/category/turns ({exc})", "re-download it"
        ) from exc
    notes = [f"reference answers: {reference} ({REFERENCES[reference].relpath})"]
    if limit is not None and limit < len(items):
        # Round-robin over categories so a short run still covers each one.
        by_cat: dict[str, list[MTBenchQuestion]] = {}
        for q in items:
            by_cat.setdefault(q.category, []).append(q)
        picked: list[MTBenchQuestion] = []
        while len(picked) < limit:
            for cat in list(by_cat):
                if by_cat[cat] and len(picked) < limit:
                    picked.append(by_cat[cat].pop(0))
        items = sorted(picked, key=lambda q: q.id)
        notes.append(f"limited to {limit} questions, spread over the categories")
    return MTBenchSet(items, QUESTIONS[questions].url, sha256_of(qpath), notes)


def judge_prompts_path(data_dir: Path | None = None) -> Path:
    """The Japanese judge prompts file (FastChat jp-stable ``judge_ja_prompts.jsonl``)."""
    return locate(JUDGE_PROMPTS_JA, data_dir)
