"""Step 1: generate questions per topic, Self-Instruct style, into a resumable JSONL.

Every attempt (raw text, parsed question or the reason it was dropped) is appended to
``attempts.jsonl`` one round at a time and fsynced; a killed run keeps its complete rounds and
redoes the cut-off one, with the same draws (each round's examples and sampling seed come from
``(seed, topic, round)``), so a re-run ends with the same questions, none lost or doubled.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from culturealign.culturespa.questions import (
    TOPICS,
    Deduplicator,
    Question,
    generation_prompt,
    parse_question,
    seed_questions,
)
from culturealign.errors import CultureAlignError
from culturealign.models.base import ChatMessage, GenerationConfig, LanguageModel
from culturealign.paths import write_json_atomic, write_text_atomic

ATTEMPTS = "attempts.jsonl"
QUESTIONS_FILE = "questions.jsonl"
YIELD_FILE = "yield.json"


class GenerateSettings(BaseModel):
    """Question generation. Defaults: the release's (CultureSPA code), unless marked ours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: list[int] = Field(
        default_factory=lambda: list(range(13)), description="Topic indices 0-12."
    )
    per_topic: int = Field(1000, ge=1, description="Questions kept per topic (release: 1,000).")
    seeds_per_prompt: int = Field(3, ge=0, description="WVS seed examples per prompt (release: 3).")
    generated_per_prompt: int = Field(2, ge=0, description="Generated examples (release: up to 2).")
    temperature: float = Field(0.9, ge=0, description="Release: 0.9.")
    top_p: float = Field(0.95, gt=0, le=1, description="Release: 0.95.")
    max_new_tokens: int = Field(256, ge=8, description="Release: 256.")
    batch_size: int = Field(16, ge=1, description="Prompts per round (ours).")
    max_attempts: float = Field(4.0, ge=1, description="Give up after per_topic x this (ours).")
    similarity: float = Field(0.7, gt=0, le=1, description="ROUGE-L near-duplicate cut (ours).")
    seed: int = Field(0, description="Seed of example draws and sampling (ours).")
    source: Literal["model", "release"] = Field(
        "model",
        description="model: generate; release: take the release's 13,000 generated questions "
        "(Llama-3-8B-Instruct's) through the same parser and dedup, in their order.",
    )


def round_draw(cfg: GenerateSettings, topic: int, round_no: int) -> random.Random:
    return random.Random(f"{cfg.seed}/{topic}/{round_no}")


def load_attempts(path: Path) -> list[dict[str, Any]]:
    """The complete rounds of ``path`` (a round cut off by a kill is dropped and rewritten)."""
    if not path.is_file():
        return []
    rows, torn = [], False
    text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            torn = True  # the cut-off last line of a killed write
            break
    sizes = Counter((r["topic"], r["round"]) for r in rows)
    kept = [r for r in rows if sizes[(r["topic"], r["round"])] == r["of"]]
    if torn or len(kept) != len(rows) or (text and not text.endswith("\n")):
        write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))
    return kept


def generate_questions(
    model: LanguageModel | None,
    cfg: GenerateSettings,
    out: Path,
    console: Any = None,
    data_dir: Any = None,
) -> dict[str, Any]:
    """Fill ``out`` with attempts.jsonl, questions.jsonl and yield.json; returns the yield."""
    bad = [t for t in cfg.topics if not 0 <= t < len(TOPICS)]
    if bad:
        raise CultureAlignError(f"unknown topic indices {bad}", f"topics are 0-{len(TOPICS) - 1}")
    seeds = seed_questions(data_dir)
    path = out / ATTEMPTS
    if cfg.source == "release":
        return _from_release(cfg, seeds, out, data_dir)
    if model is None:
        raise CultureAlignError("question generation needs a model", "pass --model")
    attempts = load_attempts(path)
    dedup = Deduplicator(cfg.similarity)
    accepted: dict[int, list[Question]] = {t: [] for t in cfg.topics}
    for t in cfg.topics:
        for q in seeds[TOPICS[t]]:
            dedup.add(TOPICS[t], q.question)
    for r in attempts:
        if r["status"] == "ok":
            dedup.add(TOPICS[r["topic"]], r["question"])
            accepted[r["topic"]].append(Question(r["question"], tuple(r["options"])))
    started, made = time.perf_counter(), 0
    with path.open("a", encoding="utf-8") as fh:
        for t in cfg.topics:
            topic = TOPICS[t]
            tried = [r for r in attempts if r["topic"] == t]
            round_no = max((r["round"] for r in tried), default=-1) + 1
            budget = int(cfg.per_topic * cfg.max_attempts)
            while len(accepted[t]) < cfg.per_topic and len(tried) < budget:
                rows = _round(model, cfg, t, round_no, seeds[topic], accepted[t], dedup)
                fh.write("".join(json.dumps(r) + "\n" for r in rows))
                fh.flush()
                os.fsync(fh.fileno())
                tried += rows
                made += sum(r["status"] == "ok" for r in rows)
                round_no += 1
                if console is not None:
                    rate = made / max(time.perf_counter() - started, 1e-9)
                    console.print(
                        f"topic {t} ({topic}): {len(accepted[t])}/{cfg.per_topic} kept, "
                        f"{len(tried)} tried, {rate:.2f} questions/s"
                    )
            attempts = [r for r in attempts if r["topic"] != t] + tried
    return _finish(cfg, load_attempts(path), out, made, time.perf_counter() - started)


def _round(
    model: LanguageModel,
    cfg: GenerateSettings,
    t: int,
    round_no: int,
    seeds: list[Question],
    pool: list[Question],
    dedup: Deduplicator,
) -> list[dict[str, Any]]:
    rng = round_draw(cfg, t, round_no)
    prompts = []
    for _ in range(cfg.batch_size):
        examples = rng.sample(seeds, min(cfg.seeds_per_prompt, len(seeds)))
        examples += rng.sample(pool, min(cfg.generated_per_prompt, len(pool)))
        rng.shuffle(examples)
        text = generation_prompt(TOPICS[t], examples)
        prompts.append(model.render_chat([ChatMessage("user", text)]) if model.is_chat else text)
    gen = GenerationConfig(
        max_new_tokens=cfg.max_new_tokens,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        seed=rng.randrange(2**31),
    )
    rows = []
    for raw in model.generate(prompts, gen):
        row: dict[str, Any] = {"topic": t, "round": round_no, "of": len(prompts), "raw": raw}
        parsed = parse_question(raw)
        reason = parsed if isinstance(parsed, str) else dedup.check(TOPICS[t], parsed.question)
        if reason is None and isinstance(parsed, Question):
            dedup.add(TOPICS[t], parsed.question)
            pool.append(parsed)
            row.update(status="ok", **parsed.as_dict())
        else:
            row.update(status="dropped", reason=reason)
        rows.append(row)
    return rows


def _from_release(
    cfg: GenerateSettings, seeds: dict[str, list[Question]], out: Path, data_dir: Any
) -> dict[str, Any]:
    """The release's generated questions as attempts (raw = their JSON), then the same filters."""
    from culturealign.data.sources import RemoteFile, locate
    from culturealign.data.survey import read_json
    from culturealign.data.wvs import _CULTURESPA

    dedup, rows = Deduplicator(cfg.similarity), []
    for t in cfg.topics:
        for q in seeds[TOPICS[t]]:
            dedup.add(TOPICS[t], q.question)
    for t in cfg.topics:
        rel = f"data/Meta-Llama-3-8B-Instruct/generated_questions_topic_{t}_from_all_seed.json"
        released = read_json(
            locate(RemoteFile(f"culturespa/{rel}", f"{_CULTURESPA}/{rel}"), data_dir), list
        )
        kept = 0
        for i, r in enumerate(released):
            if kept >= cfg.per_topic:
                break
            raw = json.dumps({"Question": r["question"], "Options": r["option_lst"]})
            row: dict[str, Any] = {"topic": t, "round": i, "of": 1, "raw": raw}
            parsed = parse_question(raw)
            why = parsed if isinstance(parsed, str) else dedup.check(TOPICS[t], parsed.question)
            if why is None and isinstance(parsed, Question):
                dedup.add(TOPICS[t], parsed.question)
                row.update(status="ok", **parsed.as_dict())
                kept += 1
            else:
                row.update(status="dropped", reason=why)
            rows.append(row)
    write_text_atomic(out / ATTEMPTS, "".join(json.dumps(r) + "\n" for r in rows))
    return _finish(cfg, rows, out, 0, 0.0)


def _finish(
    cfg: GenerateSettings, attempts: list[dict[str, Any]], out: Path, made: int, wall: float
) -> dict[str, Any]:
    lines, stats = [], {}
    for t in cfg.topics:
        mine = [r for r in attempts if r["topic"] == t]
        ok = [r for r in mine if r["status"] == "ok"][: cfg.per_topic]
        reasons = Counter(r["reason"].split(" (")[0] for r in mine if r["status"] != "ok")
        stats[TOPICS[t]] = {"attempts": len(mine), "kept": len(ok), "dropped": dict(reasons)}
        for i, r in enumerate(ok):
            row = {"id": f"t{t}-{i}", "topic": t, "class": TOPICS[t]}
            lines.append(json.dumps({**row, "question": r["question"], "options": r["options"]}))
    write_text_atomic(out / QUESTIONS_FILE, "".join(line + "\n" for line in lines))
    summary = {
        "per_topic": stats,
        "kept": len(lines),
        "new_this_run": made,
        "wall_s": round(wall, 1),
    }
    summary["questions_per_s"] = round(made / wall, 3) if wall > 0 else None
    write_json_atomic(out / YIELD_FILE, summary)
    return summary


def read_questions(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
