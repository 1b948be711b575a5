"""The two SFT sets: knowledge descriptions (stage 1), knowledge-augmented answers (stage 2).

Stage 2's answers are written by a teacher (any culturealign model; default the model being
trained) that sees the behaviour's knowledge paragraph beside the question; the training row
asks the question exactly as the grounded evaluation does, without the knowledge, so SFT
teaches the model to bring that knowledge itself. The prompt is our choice: CultureBank does
not publish the one it used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from culturealign.culturebank_sft.spec import AugmentSettings
from culturealign.data.culturebank import CultureBankRow
from culturealign.judging.culturebank import GROUNDED_EVAL, render_user
from culturealign.models.base import GenerationConfig, LanguageModel

AUGMENTED = (
    "You are a helpful AI assistant trained to help users on their personal issues. Please "
    "answer the user's question to the best of your ability. Use the cultural knowledge below "
    "where it helps the user, in your own words, without quoting it.\n\nCultural knowledge: "
    "{knowledge}\n\nUser's question: {question}\n\nYour Answer:"
)


def knowledge_rows(rows: Sequence[CultureBankRow]) -> list[dict[str, str]]:
    """Stage 1: one plain-text row per distinct knowledge paragraph, in file order."""
    seen = dict.fromkeys(r.knowledge.strip() for r in rows if r.knowledge.strip())
    return [{"text": k} for k in seen]


def low_scoring(items: Sequence[Any], threshold: float) -> list[Any]:
    """Grounded-evaluation items whose P(Yes) is below ``threshold`` (CultureBank: 0.6)."""
    return [it for it in items if float(it.get("p_yes")) < threshold]


def augmented_answers(
    teacher: LanguageModel,
    student: LanguageModel,
    items: Sequence[Any],
    settings: AugmentSettings,
    out: Path,
    progress: Any = None,
) -> dict[str, int]:
    """Append stage-2 rows (prompt, completion) for ``items`` to ``out``; resumable.

    Items already in ``out`` are skipped, so a killed run redoes at most one batch. Empty
    answers are dropped and counted.
    """
    done = {json.loads(line)["id"] for line in _lines(out)}
    todo = [it for it in items if it.id not in done]
    # The grounded evaluation's decoding (CultureBank: temperature 0.7, top-k 10, top-p 0.95).
    config = GenerationConfig(
        max_new_tokens=settings.max_new_tokens, temperature=0.7, top_p=0.95, top_k=10, seed=0
    )
    empty = 0
    with out.open("a", encoding="utf-8") as fh:
        for start in range(0, len(todo), settings.batch_size):
            batch = todo[start : start + settings.batch_size]
            prompts = [_teacher_prompt(teacher, it) for it in batch]
            for it, answer in zip(batch, teacher.generate(prompts, config), strict=True):
                if not answer.strip():
                    empty += 1
                    continue
                question = GROUNDED_EVAL.format(it.get("question"))
                row = {"id": it.id, "prompt": render_user(student, question), "completion": answer}
                fh.write(json.dumps(row | {"p_yes": it.get("p_yes")}, ensure_ascii=False) + "\n")
            fh.flush()
            if progress is not None:
                progress(len(batch))
    return {"low_scoring": len(items), "written": len(_lines(out)), "empty_dropped": empty}


def _teacher_prompt(teacher: LanguageModel, item: Any) -> str:
    text = AUGMENTED.format(knowledge=item.get("knowledge"), question=item.get("question"))
    return render_user(teacher, text)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
