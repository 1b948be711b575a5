"""LLM judges (issue 11): a backend + a named grading prompt + a parser, shared by the
judged tasks (Japanese MT-Bench, CultureBank grounded questions) and the calibration check."""

from culturealign.judging.judges import Judge, render_judge_input
from culturealign.judging.parsing import combine_swapped, failure_rate, parse_score, parse_verdict
from culturealign.judging.prompts import ENGLISH, KNOWLEDGE_ENTAIL, JudgePrompt, load_judge_prompts

__all__ = [
    "ENGLISH",
    "KNOWLEDGE_ENTAIL",
    "Judge",
    "JudgePrompt",
    "combine_swapped",
    "failure_rate",
    "load_judge_prompts",
    "parse_score",
    "parse_verdict",
    "render_judge_input",
]
