"""``prefs from-rm``: preference pairs labelled by a reward model (Jinnai 2024, ChatbotArena-JA).

For each instruction the policy samples two responses with the study's decoding (the paper
states: temperature 1.0, top-p 0.7, up to 256 new tokens, instructions cut at 256 tokens); the
reward model scores both and the higher one is *chosen*. Ties and empty responses are dropped
and counted. Work goes in batches; each finished batch is appended to ``<out>.work.jsonl``
(:class:`~culturealign.rewards.worklog.WorkLog`), so a killed run resumes where it stopped.
The prefs file (``train dpo``'s format) is written atomically at the end; both scores of every
pair are in ``<out>.scores.jsonl`` beside it (the prefs format allows no extra fields).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from culturealign.alignment.prefs import PreferencePair, write_pairs
from culturealign.errors import CultureAlignError
from culturealign.models.base import ChatMessage, GenerationConfig, LanguageModel
from culturealign.paths import atomic_path
from culturealign.rewards.model import RewardModel
from culturealign.rewards.worklog import WorkLog

INSTRUCTION_COLUMNS = ("instruction", "prompt", "question", "text")


@dataclass(frozen=True)
class Decoding:
    """The study's sampling settings (the paper states all four)."""

    temperature: float = 1.0
    top_p: float = 0.7
    max_new_tokens: int = 256
    max_instruction_tokens: int = 256
    seed: int = 0


def read_instructions(path: Path, column: str | None = None) -> list[tuple[str, str]]:
    """``(id, instruction)`` rows of a JSONL or CSV file; ``column`` default: first of
    :data:`INSTRUCTION_COLUMNS` present."""
    if not path.is_file():
        raise CultureAlignError(f"instruction file not found: {path}", "check the path")
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    else:
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise CultureAlignError(
                        f"{path}:{n}: not JSON", "one JSON object per line"
                    ) from exc
    if not rows:
        raise CultureAlignError(f"{path} has no rows", "check the file is complete")
    names = set(rows[0])
    col = column or next((c for c in INSTRUCTION_COLUMNS if c in names), None)
    if col is None or col not in names:
        raise CultureAlignError(
            f"{path} has no instruction column {column or INSTRUCTION_COLUMNS}; "
            f"it has {sorted(names)}",
            "name it with --column",
        )
    out = []
    for i, row in enumerate(rows):
        text = row.get(col)
        if not isinstance(text, str) or not text.strip():
            raise CultureAlignError(f"{path}: row {i + 1} has an empty {col!r}", "fix the row")
        out.append((str(row.get("id", i)), text.strip()))
    return out


def cut_tokens(policy: LanguageModel, text: str, limit: int) -> str:
    """``text`` cut to ``limit`` tokens of the policy's tokenizer (unchanged when no local one)."""
    tok = getattr(policy, "tokenizer", None)
    if tok is None:
        return text
    ids = tok(text, add_special_tokens=False)["input_ids"]
    return text if len(ids) <= limit else tok.decode(ids[:limit])


def render(policy: LanguageModel, instruction: str) -> str:
    if policy.is_chat:
        return policy.render_chat([ChatMessage("user", instruction)])
    return instruction


def label_batch(
    policy: LanguageModel,
    rm: RewardModel,
    batch: list[tuple[str, str]],
    decoding: Decoding,
    seed: int,
) -> list[dict[str, Any]]:
    """Two sampled responses per instruction, both scored; one work row per instruction."""
    instructions = [cut_tokens(policy, t, decoding.max_instruction_tokens) for _, t in batch]
    prompts = [render(policy, t) for t in instructions]
    config = GenerationConfig(
        max_new_tokens=decoding.max_new_tokens,
        temperature=decoding.temperature,
        top_p=decoding.top_p,
        seed=seed,
    )
    doubled = [p for p in prompts for _ in (0, 1)]
    responses = [r.strip() for r in policy.generate(doubled, config)]
    scores = rm.score([t for t in instructions for _ in (0, 1)], responses)
    rows = []
    for k, (key, _) in enumerate(batch):
        a, b = responses[2 * k : 2 * k + 2], scores[2 * k : 2 * k + 2]
        rows.append(
            {
                "key": key,
                "prompt": prompts[k],
                "instruction": instructions[k],
                "responses": a,
                "scores": b,
            }
        )
    return rows


def outcome(row: dict[str, Any]) -> str:
    """``pair``, ``empty`` (a response is empty), ``identical`` or ``tie`` (equal rewards)."""
    a, b = row["responses"]
    if not a or not b:
        return "empty"
    if a == b:
        return "identical"
    return "tie" if row["scores"][0] == row["scores"][1] else "pair"


def from_rm(
    policy: LanguageModel,
    rm: RewardModel,
    instructions: list[tuple[str, str]],
    out: Path,
    decoding: Decoding = Decoding(),
    batch_size: int = 8,
    source: str | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Label every instruction (resuming from the work log), then write prefs and scores."""
    if len({k for k, _ in instructions}) != len(instructions):
        raise CultureAlignError("instruction ids are not unique", "give each row a unique id")
    settings = {
        "policy": policy.info.name,
        "adapter": policy.info.adapter,
        "reward_model": rm.name,
        "decoding": asdict(decoding),
        "batch_size": batch_size,
    }
    log = WorkLog(out.with_suffix(".work.jsonl"), settings)
    for number, start in enumerate(range(0, len(instructions), batch_size)):
        batch = instructions[start : start + batch_size]
        if all(key in log.done for key, _ in batch):
            continue
        # Seed per batch number: a resumed run samples a redone batch exactly as before.
        log.append(label_batch(policy, rm, batch, decoding, decoding.seed + number))
        if on_batch:
            on_batch(min(start + batch_size, len(instructions)), len(instructions))
    return write_outputs(out, [log.done[k] for k, _ in instructions], source, settings)


def write_outputs(
    out: Path, rows: list[dict[str, Any]], source: str | None, settings: dict[str, Any]
) -> dict[str, Any]:
    counts = {"pair": 0, "empty": 0, "identical": 0, "tie": 0}
    pairs, scores = [], []
    for row in rows:
        kind = outcome(row)
        counts[kind] += 1
        if kind != "pair":
            continue
        hi = 0 if row["scores"][0] > row["scores"][1] else 1
        pairs.append(
            PreferencePair(
                prompt=row["prompt"],
                chosen=row["responses"][hi],
                rejected=row["responses"][1 - hi],
                id=row["key"],
                source=source,
            )
        )
        scores.append(
            {
                "id": row["key"],
                "chosen_score": row["scores"][hi],
                "rejected_score": row["scores"][1 - hi],
            }
        )
    if not pairs:
        raise CultureAlignError(
            f"no usable pairs: {counts}", "check the policy produces non-empty, varied responses"
        )
    write_pairs(out, pairs)
    with atomic_path(out.with_suffix(".scores.jsonl")) as tmp:
        tmp.write_text("".join(json.dumps(s) + "\n" for s in scores), encoding="utf-8")
    summary = {
        "instructions": len(rows),
        "pairs": counts["pair"],
        "dropped": {k: v for k, v in counts.items() if k != "pair"},
        **settings,
    }
    with atomic_path(out.with_suffix(".summary.json")) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return summary
