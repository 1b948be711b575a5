"""Reward models: score a (prompt, response) pair with one scalar.

Two kinds load behind the one :class:`RewardModel` class:

* any Hugging Face sequence-classification model with one output, by hub id or folder (the
  study's ``OpenAssistant/reward-model-deberta-v3-large-v2`` scores a (question, answer) pair:
  its tokenizer encodes the two as a text pair);
* a folder written by ``culturealign train rm``: a LoRA adapter plus scalar head over a causal
  LM's sequence-classification class (``reward_model.json`` names the base).

How a lone sentence (a JCM item) is fed to a (question, answer) model is not stated by the
study; :data:`SENTENCE_FEEDS` are the choices, ``answer`` (empty question) by default (our
choice).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from culturealign.errors import CultureAlignError
from culturealign.library_warnings import quiet_library_deprecations

RM_META = "reward_model.json"
SentenceFeed = Literal["answer", "question", "single"]
SENTENCE_FEEDS: dict[str, str] = {
    "answer": "the sentence is the answer to an empty question (our default)",
    "question": "the sentence is the question, the answer is empty",
    "single": "the sentence alone as one text, no pair encoding",
}


def join_text(prompt: str, response: str) -> str:
    """One text for a model without pair encoding: prompt, blank line, response (our choice)."""
    return f"{prompt}\n\n{response}" if prompt and response else prompt or response


class RewardModel:
    """Scalar rewards from a sequence-classification model (optionally with a LoRA adapter)."""

    def __init__(
        self, model: Any, tokenizer: Any, name: str, max_length: int = 512, suffix: str = ""
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.max_length = max_length
        # ``train rm`` ends every text with EOS, as TRL's RewardTrainer does; scoring must too.
        self.suffix = suffix
        # Encoder reward models (DeBERTa, ...) take (question, answer) as a text pair; a causal
        # LM has no pair encoding, so the two are joined by a blank line (our choice).
        self.pair_encoding = "token_type_ids" in getattr(tokenizer, "model_input_names", [])

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def texts(self, prompts: Sequence[str], responses: Sequence[str]) -> dict[str, Any]:
        """Tokenized batch of (prompt, response) pairs, right-padded, truncated to max_length."""
        kw: dict[str, Any] = {
            "padding": True,
            "truncation": True,
            "max_length": self.max_length,
            "return_tensors": "pt",
        }
        if self.pair_encoding and any(prompts):
            return self.tokenizer(list(prompts), list(responses), **kw)
        joined = [join_text(p, r) + self.suffix for p, r in zip(prompts, responses, strict=True)]
        return self.tokenizer(joined, **kw)

    @torch.inference_mode()
    def score(
        self, prompts: Sequence[str], responses: Sequence[str], batch_size: int = 16
    ) -> list[float]:
        """One reward per (prompt, response); batches are length-sorted to keep padding small."""
        if len(prompts) != len(responses):
            raise ValueError("prompts and responses differ in length")
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]) + len(responses[i]))
        out = [0.0] * len(prompts)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self.texts([prompts[i] for i in idx], [responses[i] for i in idx])
            logits = self.model(**batch.to(self.device)).logits
            for i, value in zip(idx, logits[:, 0].float().tolist(), strict=True):
                out[i] = value
        return out

    def score_sentences(
        self, sentences: Sequence[str], feed: SentenceFeed = "answer", batch_size: int = 16
    ) -> list[float]:
        """Rewards of lone sentences, fed as ``feed`` says (see :data:`SENTENCE_FEEDS`)."""
        if feed not in SENTENCE_FEEDS:
            raise CultureAlignError(
                f"unknown sentence feed {feed!r}", f"use {list(SENTENCE_FEEDS)}"
            )
        empty = [""] * len(sentences)
        if feed == "question":
            return self.score(list(sentences), empty, batch_size)
        if feed == "answer" and self.pair_encoding:
            return self._score_pairs_forced(sentences, batch_size)
        return self.score(empty, list(sentences), batch_size)

    def _score_pairs_forced(self, sentences: Sequence[str], batch_size: int) -> list[float]:
        """Pair encoding with an empty question: [CLS] [SEP] sentence [SEP] for DeBERTa."""
        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(sentences), batch_size):
                chunk = list(sentences[start : start + batch_size])
                batch = self.tokenizer(
                    [""] * len(chunk),
                    chunk,
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                out += self.model(**batch.to(self.device)).logits[:, 0].float().tolist()
        return out


def load_reward_model(
    spec: str | Path,
    device: str | None = None,
    threads: int | None = None,
    max_length: int = 512,
) -> RewardModel:
    """A ``train rm`` output folder, or a sequence-classification model by folder or hub id."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    folder = Path(spec)
    meta_file = folder / RM_META
    if meta_file.is_file():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        from culturealign.alignment.recipes.common import model_source

        base = model_source(meta["base"])
        model, tok = seqcls_from_causal(base)
        from peft import PeftModel

        with quiet_library_deprecations():
            model = PeftModel.from_pretrained(model, str(folder))
        suffix = tok.eos_token if meta.get("append_eos", True) else ""
        return RewardModel(
            model.to(device), tok, str(spec), meta.get("max_length", max_length), suffix
        )
    if folder.exists() and not (folder / "config.json").is_file():
        raise CultureAlignError(
            f"{folder} is neither a `culturealign train rm` output ({RM_META}) "
            "nor a Hugging Face model folder (config.json)",
            "pass a reward-model folder, or a hub id such as "
            "OpenAssistant/reward-model-deberta-v3-large-v2",
        )
    try:
        tok = AutoTokenizer.from_pretrained(str(spec))
        model = AutoModelForSequenceClassification.from_pretrained(str(spec))
    except OSError as exc:
        raise CultureAlignError(
            f"cannot load reward model {spec!r}: {str(exc).splitlines()[0]}",
            "check the id/path; a hub id needs internet once (then the HF cache serves it)",
        ) from exc
    if model.config.num_labels != 1:
        raise CultureAlignError(
            f"{spec} has {model.config.num_labels} output labels; a reward model has 1",
            "use a reward model (one scalar output), not a classifier",
        )
    return RewardModel(model.to(device), tok, str(spec), max_length)


def seqcls_from_causal(base: str) -> tuple[Any, Any]:
    """A causal LM's sequence-classification class with a fresh 1-output head, and its tokenizer.

    The head reads the last non-pad token (transformers' ``*ForSequenceClassification``), so the
    config must know the pad id.
    """
    from transformers import AutoModelForSequenceClassification

    from culturealign.models.hf_tokenizer import load_tokenizer

    tok = load_tokenizer(base)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=1, pad_token_id=tok.pad_token_id, dtype=torch.float32
    )
    return model, tok
