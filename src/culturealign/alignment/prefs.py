"""Preference pairs from labelled moral judgements (Jinnai, 2024): chosen = the correct answer.

The prompt is exactly the evaluation prompt in its zero-shot form (:func:`render_moral`), so a
model is trained on the very text it is later scored on. Rows are TRL's standard
prompt/chosen/rejected format with plain-string prompts: TRL tokenizes a string prompt as is and
applies no chat template (only a list-of-messages prompt is "conversational"), so a prompt that
already carries a chat model's template is never templated twice. ``chat_template`` records
which template, if any, is baked into the prompt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from culturealign.data.jsonl import json_object
from culturealign.data.records import JudgementSet
from culturealign.errors import CultureAlignError
from culturealign.models.base import ChatMessage
from culturealign.paths import atomic_path
from culturealign.prompts.moral import TEMPLATES, PromptLanguage, render_moral


class PreferencePair(BaseModel):
    """One TRL-compatible preference row plus where it came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1, description="Full prompt text (prefix + item).")
    chosen: str = Field(min_length=1, description="Preferred completion (the correct answer).")
    rejected: str = Field(min_length=1, description="Dispreferred completion (the wrong answer).")
    id: str | None = Field(None, description="Source item id.")
    source: str | None = Field(None, description="Dataset name and split.")
    chat_template: str | None = Field(
        None, description="Model whose chat template is baked into the prompt; None = plain."
    )


def pairs_from_judgements(
    data: JudgementSet,
    prompt_language: PromptLanguage = "ja",
    chat: Callable[[Sequence[ChatMessage]], str] | None = None,
    chat_name: str | None = None,
    system: str | None = None,
) -> list[PreferencePair]:
    """One pair per judgement: prompt = zero-shot evaluation prompt, chosen = the gold answer."""
    template = TEMPLATES[prompt_language]
    out = []
    for item in data.items:
        rendered = render_moral(item, template, shots=(), chat=chat, system=system)
        out.append(
            PreferencePair(
                prompt=rendered.full,
                chosen=rendered.choices[item.label],
                rejected=rendered.choices[1 - item.label],
                id=item.id,
                source=f"{data.name}/{data.split}",
                chat_template=chat_name if chat else None,
            )
        )
    return out


def write_pairs(path: Path, pairs: Iterable[PreferencePair]) -> int:
    """Write JSONL atomically (nothing half-written on error); returns the row count."""
    n = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for pair in pairs:
            fh.write(json.dumps(pair.model_dump(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_pairs(path: Path, limit: int | None = None) -> list[PreferencePair]:
    """Read and validate a preference JSONL; a bad row raises an error naming file and line."""
    if not path.is_file():
        raise CultureAlignError(
            f"preference file not found: {path}",
            "create one with `culturealign prefs from-labels --out FILE`",
        )
    pairs: list[PreferencePair] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            pairs.append(_parse_row(path, line_no, line))
            if limit is not None and len(pairs) >= limit:
                break
    if not pairs:
        raise CultureAlignError(f"{path} has no preference rows", "check the file is complete")
    return pairs


def _parse_row(path: Path, line_no: int, line: str) -> PreferencePair:
    row = json_object(line, path, line_no, '{"prompt": ..., "chosen": ..., "rejected": ...}')
    try:
        pair = PreferencePair.model_validate(row)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "row"
        raise CultureAlignError(
            f"{path}:{line_no}: {where}: {first['msg']}",
            "each row needs non-empty string prompt, chosen and rejected "
            "(optional: id, source, chat_template)",
        ) from exc
    if pair.chosen == pair.rejected:
        raise CultureAlignError(
            f"{path}:{line_no}: chosen and rejected are identical", "fix or drop the row"
        )
    return pair
