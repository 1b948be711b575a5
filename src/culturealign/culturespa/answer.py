"""Step 2: answer every generated question culture-unaware and as each target country.

Prompts are CultureSPA's own survey prompts (``culturespa-unaware`` / ``culturespa-aware`` in
:mod:`culturealign.prompts.survey`), options numbered 1..n; the answer is the first integer of
the reply, accepted when in 0..15 (the released parser at this step). Answers are appended per
batch to ``answers.jsonl`` (fsynced), keyed by (seed, country, question): a re-run skips them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from culturealign.data.wvs import COUNTRIES, PAPER_COUNTRIES
from culturealign.errors import CultureAlignError
from culturealign.evaluation.wvs_metrics import parse_first_integer
from culturealign.models.base import GenerationConfig, LanguageModel
from culturealign.prompts.survey import TEMPLATES, format_options, option_labels, render, wants_chat

ANSWERS_FILE = "answers.jsonl"
UNAWARE = "-"
MAX_ANSWER = 15


class AnswerSettings(BaseModel):
    """Answering. Defaults: the release's (CultureSPA code), unless marked ours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    countries: list[str] = Field(
        default_factory=lambda: list(PAPER_COUNTRIES), description="Release: the 18 countries."
    )
    temperature: float = Field(0.6, ge=0, description="Release: 0.6.")
    top_p: float = Field(0.9, gt=0, le=1, description="Release: 0.9.")
    max_new_tokens: int = Field(256, ge=1, description="Release: 256.")
    seeds: list[int] = Field(default_factory=lambda: [42], description="One answer pass per seed.")
    batch_size: int = Field(64, ge=1, description="Prompts per write (ours).")


def parse_answer(text: str) -> int | None:
    """The released answer parser at this step: first integer, kept if in 0..15."""
    return parse_first_integer(text, 0, MAX_ANSWER)


def answer_prompt(model: LanguageModel | None, question: dict[str, Any], country: str) -> str:
    """The CultureSPA survey prompt for a generated question (chat-wrapped when the model chats)."""
    persona = "unaware" if country == UNAWARE else "aware"
    template = TEMPLATES[f"culturespa-{persona}"]
    codes = [str(i) for i in range(1, len(question["options"]) + 1)]
    labels = option_labels(template, codes)
    fields = {
        "question": question["question"],
        "options": format_options(template, labels, question["options"]),
    }
    if country != UNAWARE:
        c = COUNTRIES[country]
        fields |= {"country": c.name, "nationality": c.nationality, "article": c.article}
    chat = (
        model.render_chat
        if model is not None and wants_chat(template, model.is_chat, None)
        else None
    )
    return render(template, fields, "question", labels, chat).full


def check_countries(countries: list[str]) -> None:
    unknown = [c for c in countries if c not in COUNTRIES]
    if unknown:
        raise CultureAlignError(
            f"unknown countries {unknown}", f"use ISO3 codes: {', '.join(COUNTRIES)}"
        )


def read_answers(path: Path) -> dict[tuple[int, str, str], dict[str, Any]]:
    """Finished answers by (seed, country, question id); a torn last line is ignored."""
    out: dict[tuple[int, str, str], dict[str, Any]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        out[(row["seed"], row["country"], row["question"])] = row
    return out


def answer_questions(
    model: LanguageModel,
    questions: list[dict[str, Any]],
    cfg: AnswerSettings,
    out: Path,
    console: Any = None,
) -> dict[str, Any]:
    """Append the missing answers to ``out/answers.jsonl``; returns counts and answers/s."""
    check_countries(cfg.countries)
    path = out / ANSWERS_FILE
    done = read_answers(path)
    todo = [
        (seed, country, q)
        for seed in cfg.seeds
        for country in [UNAWARE, *cfg.countries]
        for q in questions
        if (seed, country, q["id"]) not in done
    ]
    started = time.perf_counter()
    _truncate_torn(path)
    with path.open("a", encoding="utf-8") as fh:
        for start in range(0, len(todo), cfg.batch_size):
            batch = todo[start : start + cfg.batch_size]
            prompts = [answer_prompt(model, q, c) for _, c, q in batch]
            gen = GenerationConfig(
                cfg.max_new_tokens, cfg.temperature, cfg.top_p, seed=batch[0][0] + start
            )
            texts = model.generate(prompts, gen)
            for (seed, country, q), prompt, text in zip(batch, prompts, texts, strict=True):
                row = {"seed": seed, "country": country, "question": q["id"], "prompt": prompt}
                fh.write(json.dumps({**row, "output": text, "answer": parse_answer(text)}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            if console is not None:
                rate = (start + len(batch)) / max(time.perf_counter() - started, 1e-9)
                console.print(f"answers {start + len(batch)}/{len(todo)}: {rate:.2f} answers/s")
    wall = time.perf_counter() - started
    rows = read_answers(path)
    parsed = sum(r["answer"] is not None for r in rows.values())
    return {
        "answers": len(rows),
        "parsed": parsed,
        "new_this_run": len(todo),
        "wall_s": round(wall, 1),
        "answers_per_s": round(len(todo) / wall, 3) if todo and wall > 0 else None,
    }


def _truncate_torn(path: Path) -> None:
    """Drop a partial last line left by a kill, so appends start on a fresh line."""
    if path.is_file():
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            path.write_bytes(data[: data.rfind(b"\n") + 1])
