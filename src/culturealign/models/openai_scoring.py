"""Choice scoring over an OpenAI-compatible server, with the best method the server offers.

Detected once per model, in this order:

1. ``prompt_logprobs`` (vLLM's extension): the context and each choice are tokenized by the
   server's ``/tokenize`` and sent as token ids, so the choice tokens are exactly the ones the
   HF backend scores (context tokenized as one string, choice alone); ``prompt_logprobs: 0``
   returns each prompt token's log-probability.
2. ``echo``: ``/v1/completions`` with ``echo`` + ``logprobs`` (OpenAI's legacy API; llama.cpp):
   the server tokenizes context + choice as one string and the choice's tokens are found by
   their character offsets. Where a token straddles the boundary it is counted with the choice
   (``work["boundary_merges"]`` counts those).
3. ``topk``: the top-k next-token log-probabilities; scores single-token choices only, a choice
   outside the top k scores ``-inf`` (it is less likely than all k; ``work["outside_topk"]``).
4. ``chat_topk``: the same through ``/v1/chat/completions`` (``logprobs`` + ``top_logprobs``).

A server that offers none fails with one error naming it and the fix (``--mode generate``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from culturealign.errors import CultureAlignError
from culturealign.models.base import ChoiceRequest

if TYPE_CHECKING:
    from culturealign.models.openai_http import OpenAIHTTPModel

TOPK = 5  # OpenAI's legacy completions accept at most 5
NO_SCORING_FIX = "use --mode generate (the answer is parsed from generated text)"
CHAT_TOPK = 20


@dataclass(frozen=True)
class PromptLogprobsScorer:
    method: str = "prompt_logprobs"

    def score(self, model: OpenAIHTTPModel, request: ChoiceRequest) -> list[float]:
        context = tokenize(model, request.prefix + request.text, special=True)
        return [self.score_tokens(model, context, tokenize(model, c)) for c in request.choices]

    @staticmethod
    def score_tokens(model: OpenAIHTTPModel, context: list[int], choice: list[int]) -> float:
        resp = model.completion(
            prompt=context + choice,
            max_tokens=1,
            temperature=0,
            extra_body={"prompt_logprobs": 0},
        )
        return prompt_logprobs_sum(resp, len(context), choice)


def tokenize(model: OpenAIHTTPModel, text: str, special: bool = False) -> list[int]:
    """Token ids from vLLM's ``POST /tokenize`` (``{"tokens": [...]}``)."""
    body = {"model": model.model, "prompt": text, "add_special_tokens": special}
    return [int(t) for t in model.server_post("/tokenize", body)["tokens"]]


def prompt_logprobs_sum(resp: dict[str, Any], start: int, choice: list[int]) -> float:
    """Sum the log-probabilities of ``choice`` at prompt positions ``start...``.

    vLLM's completion choice carries ``prompt_logprobs``: one entry per prompt token, ``None``
    for the first, else ``{token_id: {"logprob", "rank", "decoded_token"}}`` holding the prompt
    token itself (plus the top k when ``prompt_logprobs`` = k > 0). JSON makes the ids strings.
    """
    positions = resp["choices"][0]["prompt_logprobs"]
    total = 0.0
    for offset, token in enumerate(choice):
        entry = positions[start + offset]
        found = entry.get(str(token), entry.get(token))
        if found is None:
            raise CultureAlignError(
                f"the server's prompt_logprobs lack prompt token {token} at {start + offset}",
                "report this server version; meanwhile use --mode generate",
            )
        total += float(found["logprob"] if isinstance(found, dict) else found)
    return total


@dataclass(frozen=True)
class EchoScorer:
    method: str = "echo"

    def score(self, model: OpenAIHTTPModel, request: ChoiceRequest) -> list[float]:
        context = request.prefix + request.text
        out = []
        for choice in request.choices:
            resp = model.completion(
                prompt=context + choice, max_tokens=1, temperature=0, echo=True, logprobs=1
            )
            value, merged = echo_choice_sum(resp, len(context), len(context + choice))
            model.work["boundary_merges"] += merged
            out.append(value)
        return out


def echo_choice_sum(resp: dict[str, Any], start: int, end: int) -> tuple[float, int]:
    """Sum of the echoed prompt tokens that spell characters ``start:end``; 1 if one straddles.

    OpenAI's legacy ``logprobs`` object: parallel lists ``tokens``, ``token_logprobs`` (``None``
    for the first prompt token) and ``text_offset`` (each token's start in prompt + output).
    """
    lp = resp["choices"][0]["logprobs"]
    offsets, values = lp["text_offset"], lp["token_logprobs"]
    picked = [i for i, o in enumerate(offsets) if start <= o < end]
    merged = 0
    if not picked or offsets[picked[0]] != start:
        before = [i for i, o in enumerate(offsets) if o < start]
        picked = before[-1:] + picked
        merged = 1
    if not picked or any(values[i] is None for i in picked):
        raise CultureAlignError(
            "the server echoed no log-probability for the answer tokens",
            "use --mode generate",
        )
    return sum(float(values[i]) for i in picked), merged


@dataclass(frozen=True)
class TopKScorer:
    method: str = "topk"

    def score(self, model: OpenAIHTTPModel, request: ChoiceRequest) -> list[float]:
        resp = model.completion(
            prompt=request.prefix + request.text, max_tokens=1, temperature=0, logprobs=TOPK
        )
        top = resp["choices"][0]["logprobs"]["top_logprobs"][0] or {}
        return pick_topk(model, dict(top), request.choices)


@dataclass(frozen=True)
class ChatTopKScorer:
    method: str = "chat_topk"

    def score(self, model: OpenAIHTTPModel, request: ChoiceRequest) -> list[float]:
        from culturealign.models.openai_http import decode_chat

        resp = model.chat_completion(
            messages=decode_chat(request.prefix + request.text),
            max_tokens=1,
            temperature=0,
            logprobs=True,
            top_logprobs=CHAT_TOPK,
        )
        content = resp["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        return pick_topk(model, {t["token"]: t["logprob"] for t in content}, request.choices)


def pick_topk(
    model: OpenAIHTTPModel, top: dict[str, float], choices: tuple[str, ...]
) -> list[float]:
    out = []
    for choice in choices:
        if choice in top:
            out.append(float(top[choice]))
        else:
            model.work["outside_topk"] += 1
            out.append(-math.inf)
    return out


SCORERS: tuple[Any, ...] = (PromptLogprobsScorer, EchoScorer, TopKScorer, ChatTopKScorer)


def detect_scorer(model: OpenAIHTTPModel) -> Any:
    """Probe the server once; the first method it supports (module docstring) or one error."""
    forced = {s.method: s for s in SCORERS}
    if model.scoring is not None:
        if model.scoring not in forced:
            raise CultureAlignError(
                f"unknown scoring method {model.scoring!r}", f"choose one of: {', '.join(forced)}"
            )
        model.info.extra["choice_scoring"] = model.scoring
        return forced[model.scoring]()
    probes: list[tuple[Any, Any]] = (
        [(ChatTopKScorer, _probe_chat)]
        if model.api == "chat"
        else [
            (PromptLogprobsScorer, _probe_prompt_logprobs),
            (EchoScorer, _probe_echo),
            (TopKScorer, _probe_topk),
        ]
    )
    for scorer, probe in probes:
        if _supported(probe, model):
            model.info.extra["choice_scoring"] = scorer.method
            return scorer()
    raise CultureAlignError(
        f"the server at {model.base_url} (model {model.model}) returns no log-probabilities, "
        "so it cannot score answer choices",
        NO_SCORING_FIX,
    )


def _supported(probe: Any, model: OpenAIHTTPModel) -> bool:
    import openai

    try:
        return bool(probe(model))
    except (
        openai.BadRequestError,
        openai.NotFoundError,
        openai.UnprocessableEntityError,
        openai.InternalServerError,
        CultureAlignError,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
    ):
        return False


def _probe_prompt_logprobs(model: OpenAIHTTPModel) -> bool:
    ids = tokenize(model, "Hello world", special=True)
    resp = model.completion(
        prompt=ids, max_tokens=1, temperature=0, extra_body={"prompt_logprobs": 0}
    )
    return isinstance(resp["choices"][0].get("prompt_logprobs"), list)


def _probe_echo(model: OpenAIHTTPModel) -> bool:
    resp = model.completion(
        prompt="Hello world", max_tokens=1, temperature=0, echo=True, logprobs=1
    )
    lp = resp["choices"][0]["logprobs"]
    values = lp["token_logprobs"]
    return len(values) >= 2 and len(lp["text_offset"]) == len(values) and values[1] is not None


def _probe_topk(model: OpenAIHTTPModel) -> bool:
    resp = model.completion(prompt="Hello", max_tokens=1, temperature=0, logprobs=TOPK)
    return bool(resp["choices"][0]["logprobs"]["top_logprobs"][0])


def _probe_chat(model: OpenAIHTTPModel) -> bool:
    resp = model.chat_completion(
        messages=[{"role": "user", "content": "Hello"}],
        max_tokens=1,
        temperature=0,
        logprobs=True,
        top_logprobs=CHAT_TOPK,
    )
    return bool(resp["choices"][0]["logprobs"]["content"][0]["top_logprobs"])
