"""CultureBank grounded evaluation: build the question set once, answer it, judge entailment.

What the seeds state (SALT-NLP/CultureBank ``evaluation/``): questions are generated from each
behaviour's knowledge paragraph by a model (GPT-4, then a tuned Mixtral) with
``QUESTION_GENERATION_USER_TEMPLATE`` as JSON ``{Scenario, Persona, Question}`` (sampled at
temperature 0.7, top-p 0.8, top-k 50, up to 1024 tokens, retried until valid); answers use
``GROUNDED_EVAL_PROMPT_TEMPLATE`` (temperature 0.7, top-k 10, top-p 0.95, 512 tokens); the
judge's P("Yes") for "does the response entail the knowledge" is the score, > 0.5 = entailed.
Our choices: any backend generates (``culturealign culturebank-questions``), a question is kept
only if it passes :func:`check_question`, and retries are capped by ``tries``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from culturealign.data.culturebank import CultureBankRow
from culturealign.judging.cache import JudgeCache
from culturealign.models.base import ChatMessage, GenerationConfig, LanguageModel

GROUNDED_EVAL = (
    "You are a helpful AI assistant trained to help users on their personal issues. Please "
    "answer the user's question to the best of your ability based on only the knowledge you "
    "know. Do NOT make up any unfounded statements or claims.\n\nUser's question: {}\n\n"
    "Your Answer:"
)

QUESTION_GENERATION = (
    "You are an AI assistant tasked with mentoring the training of theurapists and consultants. "
    "Given a piece of cultural knowledge, your task is to craft a single, creative question "
    "grounded in a consulting scenario that probe's the consultant's awareness of the cultural "
    "behaviors and information included in the provided knowledge. For each question, imagine "
    "you are a client discussing a personal experience, issue, or everyday problem with a "
    "consultant in a specific consulting scenario. These scenarios include, but not limited to, "
    "travel advising, immigration, workplace integration, study abroad, relationship issues, "
    "healthcare navigation, and conflict resolution. In particular, when generating each "
    "question, you should:\n1. Choose a consulting scenario\n2. Generate a persona for the "
    "client\n3. Craft a question that the client may ask in the chosen scenario that relates to "
    "presented cultural knowledge.\n\nKeep the following guidelines in mind:\n"
    "1. Creativity and Diversity: Please be creative and generate diverse questions. Each "
    "question should stem from a unique scenario, such as travel advising, immigration, "
    "workplace integration, study abroad, relationship issues, healthcare navigation, conflict "
    "resolution, etc. Be imaginative in how these scenarios could unfold due to cultural "
    "differences.\n2. Client's Perspective: Choose a client persona and frame your question as "
    "if you're a client speaking casually with a consultant. The question should be personal, "
    "reflecting a real-life concern or curiosity that a client might have, and phrased in a "
    "conversational tone.\n3. Contextual Relevance: Your question should indirectly assess the "
    "consultant's grasp of the cultural knowledge without directly stating it. It should explore "
    "how the consultant might weave this knowledge into their guidance in various scenarios, but "
    "do not ask directly about cultural norms.\n4. Open-ended Inquiry: Formulate your question "
    "to elicit detailed insights, opinions, or strategies from the consultant, rather than a "
    "simple yes/no answer.\n\nFormat your output as a valid JSON containing three fields: "
    "Scenario, Persona, and Question. Do not include any additional words.\n"
    "----------------------------------------------------\n\nKnowledge: {}\n\nCraft a question "
    "about a real-life scenario or concern that **subtly** and **indirectly** relates to the "
    "given knowledge. Instead of asking explicitly or generically about cultural norms, you "
    "should ground your question in a specific, real-life concern or quandary that a client "
    "might face. Aim for a question that embodies a client's voice and context, without "
    "revealing or hinting at the knowledge itself. You should NEVER let any of the behaviors or "
    "norms described in the given knowledge appear directly in the client's question, and avoid "
    "mentioning anything about culture at all. Instead, use anecdotes from the client's "
    "perspective. Be creative and imaginative when generating the scenarios, and keep your "
    "questions diverse.\n\nIn your questions, be sure to mention the cultural group in the "
    "given knowledge in order to avoid confusion, even if the cultural group is America or the "
    "US.\n\nFormat your output as a valid json."
)
# The original's sampling: temperature 0.7, top-p 0.8, top-k 50, up to 1024 tokens.
QUESTION_GENERATION_CONFIG = GenerationConfig(
    max_new_tokens=1024, temperature=0.7, top_p=0.8, top_k=50
)


def render_user(model: LanguageModel, text: str, chat: bool | None = None) -> str:
    use_chat = model.is_chat if chat is None else chat
    return model.render_chat([ChatMessage("user", text)]) if use_chat else text + "\n"


def parse_question(output: str) -> dict[str, str] | None:
    """The first JSON object in ``output`` with Scenario, Persona and Question, else None."""
    for match in re.finditer(r"\{.*?\}", output, flags=re.DOTALL):
        try:
            obj = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and all(
            isinstance(obj.get(k), str) for k in ("Scenario", "Persona", "Question")
        ):
            return {
                "scenario": obj["Scenario"],
                "persona": obj["Persona"],
                "question": obj["Question"],
            }
    return None


def check_question(parsed: dict[str, str] | None, row: CultureBankRow) -> str | None:
    """Why a generated question is rejected (None = kept): our quality filter."""
    if parsed is None:
        return "no JSON with Scenario, Persona, Question"
    q = parsed["question"].strip()
    if not 20 <= len(q) <= 1500:
        return "question length outside 20-1500 characters"
    if not parsed["scenario"].strip() or not parsed["persona"].strip():
        return "empty scenario or persona"
    if q.lower() in row.knowledge.lower():
        return "question copies the knowledge"
    return None


def build_questions(
    model: LanguageModel,
    rows: Sequence[CultureBankRow],
    out: Path,
    config: GenerationConfig = QUESTION_GENERATION_CONFIG,
    tries: int = 3,
    batch: int = 8,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write one JSON line per behaviour to ``out`` (kept or rejected, with the raw outputs).

    Resumable: rows already in ``out`` are skipped. Try ``t`` of a row samples with seed
    ``config.seed + t``, so a rerun reproduces the same attempts.
    """
    writer = JudgeCache(out)  # keyed by row id; a torn last line is dropped and redone
    done = set(writer.entries)
    todo = [r for r in rows if r.id not in done]
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        outputs: dict[str, list[str]] = {r.id: [] for r in chunk}
        parsed: dict[str, dict[str, str] | None] = {r.id: None for r in chunk}
        for attempt in range(tries):
            pending = [r for r in chunk if check_question(parsed[r.id], r) is not None]
            if not pending:
                break
            prompts = [render_user(model, QUESTION_GENERATION.format(r.knowledge)) for r in pending]
            cfg = GenerationConfig(**{**_asdict(config), "seed": config.seed + attempt})
            for r, text in zip(pending, model.generate(prompts, cfg), strict=True):
                outputs[r.id].append(text)
                parsed[r.id] = parse_question(text)
        rows_out = {}
        for r in chunk:
            reason = check_question(parsed[r.id], r)
            rows_out[r.id] = {
                "id": r.id,
                "group": r.group,
                "topic": r.topic,
                "knowledge": r.knowledge,
                **(parsed[r.id] or {}),
                "kept": reason is None,
                "rejected_because": reason,
                "generator": model.info.name,
                "outputs": outputs[r.id],
            }
        writer.put_many(rows_out)
        if progress:
            progress(len(chunk))
    final = JudgeCache(out).entries.values()
    kept = sum(bool(v["kept"]) for v in final)
    return {"rows": len(final), "kept": kept, "rejected": len(final) - kept}


def _asdict(config: GenerationConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(config)


def read_questions(path: Path) -> list[dict[str, Any]]:
    """The kept questions of a built set (``culturebank-questions`` output)."""
    from culturealign.errors import CultureAlignError

    if not path.is_file():
        raise CultureAlignError(
            f"question set not found: {path}", "build it with `culturealign culturebank-questions`"
        )
    return [v for v in JudgeCache(path).entries.values() if v.get("kept")]
