"""A judge = a backend + a named grading prompt + a parser (FastChat's / CultureBank's ways).

Three modes on any :class:`~culturealign.models.base.LanguageModel`:

* :meth:`Judge.single`: a 1-10 rating (with or without a reference answer), greedy
  (temperature 0), parsed by :func:`~.parsing.parse_score` (-1 when absent);
* :meth:`Judge.pairwise`: A/B/tie in both orders (position swap), combined by
  :func:`~.parsing.combine_swapped`;
* :meth:`Judge.yes_no`: P("Yes") as the next answer, from the backend's log-probabilities
  (CultureBank's knowledge entailment; it read the "Yes" probability among GPT-4's top-5 tokens).

Every judgement returns the full judge input, the raw output and the parsed value; a
:class:`~.cache.JudgeCache` keeps them so a rerun does not ask the judge again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from culturealign.judging.cache import JudgeCache, judgement_key
from culturealign.judging.parsing import combine_swapped, parse_score, parse_verdict
from culturealign.judging.prompts import JudgePrompt
from culturealign.models.base import ChatMessage, ChoiceRequest, GenerationConfig, LanguageModel

# FastChat asks its judge for up to 2048 tokens; the default here is our choice (a rating
# follows a short explanation); CPU runs pass less.
JUDGE_MAX_NEW_TOKENS = 1024


def render_judge_input(model: LanguageModel, prompt: JudgePrompt, user: str) -> str:
    """The judge's full input: its chat template when it has one, else system + user as text."""
    if model.is_chat:
        messages = [ChatMessage("system", prompt.system), ChatMessage("user", user)]
        return model.render_chat(messages)
    return f"{prompt.system}\n\n{user}\n"


class Judge:
    """Grades with ``model``; ``cache`` (optional) keeps every judgement on disk."""

    def __init__(
        self,
        model: LanguageModel,
        max_new_tokens: int = JUDGE_MAX_NEW_TOKENS,
        cache: JudgeCache | None = None,
        cue: str = "",
    ) -> None:
        self.model = model
        # Text appended to a single-answer judge input and read back before the output, e.g.
        # "評価：[[" so a small base model writes the rating at once (our choice; off by
        # default: FastChat's judge explains first).
        self.cue = cue
        self.config = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0.0)
        self.cache = cache or JudgeCache(None)
        info = model.info
        self.identity = {"name": info.name, "path": info.path, "adapter": info.adapter_sha256}

    @property
    def name(self) -> str:
        return self.model.info.name

    # -- generation, through the cache ----------------------------------------------------
    def _generate(self, inputs: Sequence[str]) -> list[str]:
        keys = [judgement_key(self.identity, asdict(self.config), text) for text in inputs]
        todo = {k: t for k, t in zip(keys, inputs, strict=True) if self.cache.get(k) is None}
        if todo:
            outputs = self.model.generate(list(todo.values()), self.config)
            self.cache.put_many({k: {"output": o} for k, o in zip(todo, outputs, strict=True)})
        return [str(self.cache.entries[k]["output"]) for k in keys]

    # -- the three modes ---------------------------------------------------------------------
    def single(self, prompt: JudgePrompt, items: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
        """One rating per item (fields: question, answer[, ref_answer_1])."""
        inputs = [
            render_judge_input(self.model, prompt, prompt.render(**it)) + self.cue for it in items
        ]
        outputs = [self.cue + out for out in self._generate(inputs)]
        return [
            {
                "judge": self.name,
                "judge_prompt": prompt.name,
                "judge_input": text,
                "judgement": out,
                "score": parse_score(out),
            }
            for text, out in zip(inputs, outputs, strict=True)
        ]

    def pairwise(
        self, prompt: JudgePrompt, items: Sequence[dict[str, str]]
    ) -> list[dict[str, Any]]:
        """Winner of x vs y per item (fields: question, answer_x, answer_y), both orders asked."""
        orders = []
        for it in items:
            base = {k: v for k, v in it.items() if k not in ("answer_x", "answer_y")}
            orders.append({**base, "answer_a": it["answer_x"], "answer_b": it["answer_y"]})
            orders.append({**base, "answer_a": it["answer_y"], "answer_b": it["answer_x"]})
        inputs = [render_judge_input(self.model, prompt, prompt.render(**o)) for o in orders]
        outputs = self._generate(inputs)
        results = []
        for i in range(0, len(outputs), 2):
            first, second = parse_verdict(outputs[i]), parse_verdict(outputs[i + 1])
            results.append(
                {
                    "judge": self.name,
                    "judge_prompt": prompt.name,
                    "judge_inputs": [inputs[i], inputs[i + 1]],
                    "judgements": [outputs[i], outputs[i + 1]],
                    "verdicts": [first, second],  # (x, y) order, then (y, x) order
                    "winner": combine_swapped(first, second),
                    "consistent": combine_swapped(first, second) != "tie" or first == second,
                }
            )
        return results

    def yes_no(self, prompt: JudgePrompt, items: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
        """P("Yes") as the judge's answer per item (fields of ``prompt``)."""
        inputs = [render_judge_input(self.model, prompt, prompt.render(**it)) for it in items]
        # A chat judge answers at the start of its turn; a plain LM after "...(Yes/No):".
        yes, no = ("Yes", "No") if self.model.is_chat else (" Yes", " No")
        keys = [judgement_key(self.identity, "yes_no", text) for text in inputs]
        todo = [(k, t) for k, t in zip(keys, inputs, strict=True) if self.cache.get(k) is None]
        if todo:
            requests = [ChoiceRequest(t, "", (yes, no)) for _, t in todo]
            logprobs = self.model.choice_logprobs(requests)
            self.cache.put_many(
                {k: {"logprobs": lp} for (k, _), lp in zip(todo, logprobs, strict=True)}
            )
        results = []
        for key, text in zip(keys, inputs, strict=True):
            lp_yes, lp_no = self.cache.entries[key]["logprobs"]
            p_yes, p_no = math.exp(lp_yes), math.exp(lp_no)
            results.append(
                {
                    "judge": self.name,
                    "judge_prompt": prompt.name,
                    "judge_input": text,
                    "logprobs": [lp_yes, lp_no],
                    "p_yes": p_yes,  # the score, as CultureBank's (not renormalised)
                    "p_yes_of_yes_no": p_yes / (p_yes + p_no) if p_yes + p_no > 0 else 0.0,
                }
            )
        return results
