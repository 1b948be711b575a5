"""Japanese MT-Bench answering and grading: the study's system prompt, FastChat's per-category
temperatures, the two-turn conversation, and the turn-1 judgement.

What the seeds state: the system prompt (Jinnai 2024), temperatures per category and the -1
convention (FastChat llm_judge), turn 1 graded with ``judge_ja_prompts.jsonl`` (its README runs
``--max-turns 1``: the Japanese file has no multi-turn prompts), reference-based grading for
math/reasoning/coding. Our choices: the plain-text format for models without a chat template
(the Japanese Alpaca layout the system prompt comes from), and the answer length (FastChat's
1024 new tokens by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from culturealign.data.mt_bench import MTBenchQuestion
from culturealign.judging.judges import Judge
from culturealign.judging.prompts import NEED_REF_CATS, JudgePrompt
from culturealign.models.base import ChatMessage, GenerationConfig, LanguageModel

STUDY_SYSTEM = (
    "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。"
    "要求を適切に満たす応答を書きなさい。"
)
# FastChat llm_judge's per-category generation temperatures as the Japanese MT-Bench fork
# (Stability-AI jp-stable) sets them (shared/data/japanese_mt_bench/SOURCE.md); upstream
# lm-sys uses 0.7 / 0.0 / 0.1.
TEMPERATURES = {
    "writing": 0.5,
    "roleplay": 0.5,
    "extraction": 0.2,
    "stem": 0.2,
    "humanities": 0.2,
    "reasoning": 0.1,
    "math": 0.1,
    "coding": 0.1,
}
DEFAULT_TEMPERATURE = 0.7  # FastChat's for a category not in the table
ANSWER_MAX_NEW_TOKENS = 1024  # FastChat gen_model_answer's default
_TURN = "\n\n### 指示:\n{}\n\n### 応答:\n"
_STOP = "\n### "


@dataclass(frozen=True)
class Conversation:
    """How to ask a model (chat template or plain text) with a system prompt."""

    system: str | None
    chat: bool

    def render(self, model: LanguageModel, turns: list[str], answers: list[str]) -> str:
        """The prompt for the next answer after ``turns`` (one more turn than ``answers``)."""
        if self.chat:
            messages = [ChatMessage("system", self.system)] if self.system else []
            for i, turn in enumerate(turns):
                messages.append(ChatMessage("user", turn))
                if i < len(answers):
                    messages.append(ChatMessage("assistant", answers[i]))
            return model.render_chat(messages)
        text = self.system or ""
        for i, turn in enumerate(turns):
            text += _TURN.format(turn)
            if i < len(answers):
                text += answers[i]
        return text.lstrip()


def clean_answer(output: str, chat: bool) -> str:
    """The answer itself: a plain-text model's run-on into a next "### ..." block cut off."""
    return (output if chat else output.split(_STOP)[0]).strip()


def judge_fields(question: MTBenchQuestion, answer: str) -> dict[str, str]:
    fields = {"question": question.turns[0], "answer": answer}
    if question.references:
        fields["ref_answer_1"] = question.references[0]
    return fields


def grading_prompt(question: MTBenchQuestion, prompts: dict[str, JudgePrompt]) -> JudgePrompt:
    """FastChat's choice: the reference prompt for NEED_REF_CATS, else the general one."""
    if question.category in NEED_REF_CATS and question.references:
        return prompts["single-math-v1"]
    return prompts["single-v1"]


def answer_second_turn(
    model: LanguageModel,
    conversation: Conversation,
    question: MTBenchQuestion,
    first: str,
    max_new_tokens: int,
    seed: int,
) -> str:
    """Turn 2 at the category's FastChat temperature (turn 1's answer in the context)."""
    if len(question.turns) < 2:
        return ""
    temperature = TEMPERATURES.get(question.category, DEFAULT_TEMPERATURE)
    config = GenerationConfig(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    prompt = conversation.render(model, list(question.turns[:2]), [first])
    return clean_answer(model.generate([prompt], config)[0], conversation.chat)


def grade(
    judge: Judge, prompts: dict[str, JudgePrompt], question: MTBenchQuestion, answer: str
) -> dict[str, Any]:
    """The turn-1 judgement of ``answer`` (judge input, raw output, score; -1 = no rating)."""
    prompt = grading_prompt(question, prompts)
    return judge.single(prompt, [judge_fields(question, answer)])[0]
