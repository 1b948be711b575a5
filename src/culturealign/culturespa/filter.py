"""Step 3: the inconsistency filter and the SFT rows it yields.

Per country (and seed), a question survives when its culture-aware answer differs from the
culture-unaware one (both parsed; CultureSPA's filter). The training example is the
culture-aware prompt with the culture-aware answer as target. The prompt is the one the answer
step used (chat-wrapped for chat models), the target the parsed number (our choice: the bare
number is what the survey prompt asks for and what the WVS-18 evaluation parses).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from culturealign.culturespa.answer import UNAWARE
from culturealign.paths import write_json_atomic, write_text_atomic

JOINT = "joint.jsonl"
FILTER_FILE = "filter.json"


def inconsistent(answers: dict[tuple[int, str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Culture-aware rows whose parsed answer differs from the unaware one of the same seed."""
    kept = []
    for (seed, country, qid), row in sorted(answers.items()):
        if country == UNAWARE or row["answer"] is None:
            continue
        base = answers.get((seed, UNAWARE, qid))
        if base is None or base["answer"] is None or base["answer"] == row["answer"]:
            continue
        kept.append(row)
    return kept


def sft_row(row: dict[str, Any]) -> dict[str, Any]:
    """A prompt/completion row for ``culturealign train sft`` (TRL's format)."""
    return {"prompt": row["prompt"], "completion": str(row["answer"]), "country": row["country"]}


def write_sft_sets(
    answers: dict[tuple[int, str, str], dict[str, Any]], countries: list[str], out: Path
) -> dict[str, Any]:
    """``joint.jsonl`` and ``<ISO3>.jsonl`` per country, plus the survivor counts."""
    kept = inconsistent(answers)
    asked = Counter(c for (_, c, _), r in answers.items() if c != UNAWARE)
    survived = Counter(r["country"] for r in kept)
    rows = [sft_row(r) for r in kept]
    write_text_atomic(out / JOINT, "".join(json.dumps(r) + "\n" for r in rows))
    for c in countries:
        mine = [r for r in rows if r["country"] == c]
        write_text_atomic(out / f"{c}.jsonl", "".join(json.dumps(r) + "\n" for r in mine))
    stats = {
        "per_country": {c: {"answered": asked[c], "kept": survived[c]} for c in countries},
        "joint": len(rows),
    }
    write_json_atomic(out / FILTER_FILE, stats)
    return stats
