"""Named grading prompts: FastChat llm_judge's English ones, the Japanese MT-Bench ones (read
from ``judge_ja_prompts.jsonl``), and CultureBank's knowledge-entailment prompt.

The English texts follow FastChat's ``data/judge_prompts.jsonl`` (``single-v1``,
``single-math-v1``, ``pair-v2``); the Japanese file ships only the two single-answer, turn-1
prompts. CultureBank's entailment prompt is ``KNOWLEDGE_ENTAIL_*`` of its ``prompt_utils.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from culturealign.errors import CultureAlignError

Kind = Literal["single", "pair", "yesno"]


@dataclass(frozen=True)
class JudgePrompt:
    """A grading prompt: ``template`` is filled with ``str.format`` fields named below."""

    name: str
    kind: Kind
    system: str
    template: (
        str  # fields: question, answer[, ref_answer_1] | answer_a, answer_b | response, knowledge
    )
    needs_reference: bool = False
    language: str = "en"

    def render(self, **fields: str) -> str:
        try:
            return self.template.format(**fields)
        except KeyError as exc:
            raise CultureAlignError(
                f"judge prompt {self.name!r} needs the field {exc}", "pass it to the judge"
            ) from exc


_RATE = (
    "After providing your explanation, you must rate the response on a scale of 1 to 10 by "
    'strictly following this format: "[[rating]]", for example: "Rating: [[5]]".'
)

SINGLE_V1 = JudgePrompt(
    "single-v1",
    "single",
    "You are a helpful assistant.",
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI assistant to the user question displayed below. Your evaluation should "
    "consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level "
    "of detail of the response. Begin your evaluation by providing a short explanation. Be as "
    f"objective as possible. {_RATE}\n\n[Question]\n{{question}}\n\n"
    "[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]",
)

SINGLE_MATH_V1 = JudgePrompt(
    "single-math-v1",
    "single",
    "You are a helpful assistant.",
    "[Instruction]\nPlease act as an impartial judge and evaluate the quality of the response "
    "provided by an AI assistant to the user question displayed below. Your evaluation should "
    "consider correctness and helpfulness. You will be given a reference answer and the "
    "assistant's answer. Begin your evaluation by comparing the assistant's answer with the "
    "reference answer. Identify and correct any mistakes. Be as objective as possible. "
    f"{_RATE}\n\n[Question]\n{{question}}\n\n[The Start of Reference Answer]\n{{ref_answer_1}}\n"
    "[The End of Reference Answer]\n\n[The Start of Assistant's Answer]\n{answer}\n"
    "[The End of Assistant's Answer]",
    needs_reference=True,
)

PAIR_V2 = JudgePrompt(
    "pair-v2",
    "pair",
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the user question displayed below. You should choose the assistant that "
    "follows the user's instructions and answers the user's question better. Your evaluation "
    "should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, "
    "and level of detail of their responses. Begin your evaluation by comparing the two "
    "responses and provide a short explanation. Avoid any position biases and ensure that the "
    "order in which the responses were presented does not influence your decision. Do not allow "
    "the length of the responses to influence your evaluation. Do not favor certain names of "
    "the assistants. Be as objective as possible. After providing your explanation, output your "
    'final verdict by strictly following this format: "[[A]]" if assistant A is better, '
    '"[[B]]" if assistant B is better, and "[[C]]" for a tie.',
    "[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{answer_a}\n"
    "[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n{answer_b}\n"
    "[The End of Assistant B's Answer]",
)

KNOWLEDGE_ENTAIL = JudgePrompt(
    "culturebank-entail",
    "yesno",
    "You are an AI assistant trained to classify whether a given response from a language agent "
    "entails a specific cultural knowledge.\n\nParticularly, given a piece of cultural knowledge "
    'and a response from an agent, output "Yes" if the response entails the cultural knowledge '
    'and "No" otherwise.\n\nYour output should be Yes/No only. Even if you are uncertain, you '
    'must pick either "Yes" or "No" without using any other words.',
    "Response: {response}\n\nKnowledge: {knowledge}\n\nDoes the given response entail the "
    "provided knowledge?\n\nEntailment (Yes/No):",
)

ENGLISH: dict[str, JudgePrompt] = {p.name: p for p in (SINGLE_V1, SINGLE_MATH_V1, PAIR_V2)}

# FastChat's NEED_REF_CATS: these categories are graded against a reference answer.
NEED_REF_CATS = frozenset({"math", "reasoning", "coding"})


def load_judge_prompts(path: Path, language: str = "ja") -> dict[str, JudgePrompt]:
    """FastChat-format judge prompts (one JSON object a line) by name."""
    prompts = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind = "pair" if row["type"].startswith("pair") else "single"
            template = row["prompt_template"]
            needs_ref = "{ref_answer_1}" in template
            prompts[row["name"]] = JudgePrompt(
                row["name"], kind, row["system_prompt"], template, needs_ref, language
            )
        except (json.JSONDecodeError, KeyError, AttributeError) as exc:
            raise CultureAlignError(
                f"{path}:{n}: not a FastChat judge prompt ({exc})",
                "give a judge_prompts.jsonl with name, type, system_prompt, prompt_template",
            ) from exc
    return prompts
