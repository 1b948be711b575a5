"""Translators: a Hugging Face seq2seq model with beam search, or any culturealign model prompted.

Both expose ``identity`` (everything that changes the output: it keys the cache and the
experiment stage) and ``translate(texts)``. The seq2seq defaults are the study's (Jinnai 2024:
WMT21 dense models, beam 5); the LLM path is our choice (few-shot prompt, greedy).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from culturealign.errors import CultureAlignError
from culturealign.translation.languages import language

# The study's translators (Jinnai 2024, section 4): JA->EN and EN->JA.
STUDY_TRANSLATORS = {
    ("ja", "en"): "facebook/wmt21-dense-24-wide-x-en",
    ("en", "ja"): "facebook/wmt21-dense-24-wide-en-x",
}
_SEQ2SEQ_NAMES = ("wmt21", "nllb", "m2m100", "opus-mt", "marian", "mbart", "t5")


class Translator(Protocol):
    identity: dict[str, Any]
    batch_size: int

    def translate(self, texts: Sequence[str]) -> list[str]: ...


def make_translator(
    name: str, source: str, target: str, options: dict[str, Any] | None = None
) -> Translator:
    """``seq2seq:<id>`` / ``lm:<id>``, or a bare id (seq2seq when it looks like one)."""
    language(source), language(target)
    if source == target:
        raise CultureAlignError(f"source and target language are both {source!r}", "use --to")
    opts = dict(options or {})
    kind, model = translator_kind(name)
    cls = Seq2SeqTranslator if kind == "seq2seq" else LLMTranslator
    # lm: an already loaded culturealign model (e.g. pooled over Ray workers), LLM kind only
    allowed = set(cls.DEFAULTS) | {"threads"} | ({"lm"} if kind == "lm" else set())
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise CultureAlignError(
            f"translator option(s) {', '.join(unknown)} do not apply to a {kind} translator",
            f"it takes: {', '.join(sorted(allowed))}",
        )
    return cls(model, source, target, **opts)


def translator_kind(name: str) -> tuple[str, str]:
    """``(kind, model)`` of a translator name: ``seq2seq:<id>``, ``lm:<id>`` or a bare id."""
    kind, _, model = (
        name.partition(":") if name.split(":")[0] in ("seq2seq", "lm") else ("", "", name)
    )
    if not model:
        raise CultureAlignError(f"no model in translator {name!r}", "e.g. lm:gemma-3-270m")
    return kind or ("seq2seq" if _looks_seq2seq(model) else "lm"), model


def _looks_seq2seq(model: str) -> bool:
    config = Path(model) / "config.json"
    if config.is_file():
        return bool(json.loads(config.read_text(encoding="utf-8")).get("is_encoder_decoder"))
    return any(k in model.lower() for k in _SEQ2SEQ_NAMES)


class Seq2SeqTranslator:
    """AutoModelForSeq2SeqLM + its tokenizer, beam search, language codes per family."""

    DEFAULTS: dict[str, Any] = {"beams": 5, "batch_size": 8, "max_length": 256}

    def __init__(
        self, model: str, source: str, target: str, threads: int | None = None, **opts: Any
    ):
        settings = {**self.DEFAULTS, **opts}
        self.model_id, self.source, self.target = model, source, target
        self.beams, self.batch_size = int(settings["beams"]), int(settings["batch_size"])
        self.max_length, self.threads = int(settings["max_length"]), threads
        self.identity = {
            "kind": "seq2seq",
            "model": model,
            "source": source,
            "target": target,
            **{k: settings[k] for k in ("beams", "max_length")},
        }
        self._loaded: tuple[Any, Any] | None = None
        self.family = ""

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            if self.threads:
                torch.set_num_threads(self.threads)
            try:
                tok = AutoTokenizer.from_pretrained(self.model_id)
                model = AutoModelForSeq2SeqLM.from_pretrained(self.model_id).eval()
            except OSError as exc:
                raise CultureAlignError(
                    f"cannot load seq2seq translator {self.model_id!r}: {exc}",
                    "give a local folder or a hub id that can be downloaded",
                ) from exc
            self.family = _family(tok, model)
            self._loaded = (tok, model)
        return self._loaded

    def generation_kwargs(self, tok: Any) -> dict[str, Any]:
        """``forced_bos_token_id`` of the target language for M2M100/WMT21/NLLB."""
        kwargs: dict[str, Any] = {"num_beams": self.beams, "max_length": self.max_length}
        token = _target_token(self.family, self.target)
        if token is not None:
            tid = tok.convert_tokens_to_ids(token)
            if tid is None or tid == tok.unk_token_id:
                raise CultureAlignError(
                    f"translator {self.model_id!r} has no language token {token!r}",
                    "this model does not cover that language; choose another --to or model",
                )
            kwargs["forced_bos_token_id"] = tid
        return kwargs

    def translate(self, texts: Sequence[str]) -> list[str]:
        import torch

        tok, model = self._load()
        if self.family in ("m2m100", "nllb"):
            tok.src_lang = _source_code(self.family, self.source)
        prefix = _marian_prefix(tok, self.family, self.target)
        batch = tok(
            [prefix + t for t in texts],
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=self.max_length,
        )
        with torch.inference_mode():
            out = model.generate(**batch, **self.generation_kwargs(tok))
        return decode(tok, out.tolist())


def decode(tok: Any, sequences: list[list[int]]) -> list[str]:
    """Decode without special tokens, language tokens (``__en__``) included on every version."""
    drop = set(tok.all_special_ids) | set(getattr(tok, "lang_token_to_id", {}).values())
    kept = [[i for i in seq if i not in drop] for seq in sequences]
    return [t.strip() for t in tok.batch_decode(kept, skip_special_tokens=True)]


def _family(tok: Any, model: Any) -> str:
    if "nllb" in type(tok).__name__.lower():
        return "nllb"
    if model.config.model_type == "m2m_100":
        return "m2m100"  # M2M100 and the WMT21 dense models
    if model.config.model_type == "marian":
        return "marian"
    return "other"


def _source_code(family: str, code: str) -> str:
    return language(code).nllb if family == "nllb" else code


def _target_token(family: str, code: str) -> str | None:
    if family == "nllb":
        return language(code).nllb
    if family == "m2m100":
        return f"__{code}__"
    return None


def _marian_prefix(tok: Any, family: str, code: str) -> str:
    # Multi-target OPUS-MT models select the target with a ">>xxx<<" token; bilingual ones
    # have no such token and need no prefix.
    if family != "marian":
        return ""
    token = f">>{language(code).iso3}<<"
    return f"{token} " if token in tok.get_vocab() else ""


FEW_SHOT: dict[str, tuple[str, ...]] = {  # our choice: two short moral-judgement sentences
    "ja": ("友達の財布からお金を盗んだ。", "電車で高齢者に席を譲った。"),
    "en": (
        "I stole money from my friend's wallet.",
        "I gave my seat to an elderly person on the train.",
    ),
}


class LLMTranslator:
    """Any culturealign model prompted few-shot to translate, greedy, output cleaned."""

    DEFAULTS: dict[str, Any] = {"max_new_tokens": 96, "batch_size": 8}

    def __init__(
        self,
        model: str,
        source: str,
        target: str,
        threads: int | None = None,
        lm: Any = None,
        **opts: Any,
    ):
        missing = [c for c in (source, target) if c not in FEW_SHOT]
        if missing:
            raise CultureAlignError(
                f"the LLM translator has no few-shot examples for {', '.join(missing)}",
                f"use a seq2seq translator; LLM prompts exist for {', '.join(FEW_SHOT)}",
            )
        settings = {**self.DEFAULTS, **opts}
        self.model_id, self.source, self.target, self.threads = model, source, target, threads
        self.max_new_tokens, self.batch_size = (
            int(settings["max_new_tokens"]),
            int(settings["batch_size"]),
        )
        self.identity = {
            "kind": "lm",
            "model": model,
            "source": source,
            "target": target,
            "max_new_tokens": self.max_new_tokens,
            "prompt": PROMPT_VERSION,
        }
        self._lm: Any = lm  # an already loaded LanguageModel (shared), else loaded on first use

    def prompt(self, text: str) -> str:
        src, tgt = language(self.source).name, language(self.target).name
        lines = [f"Translate {src} to {tgt}.", ""]
        for a, b in zip(FEW_SHOT[self.source], FEW_SHOT[self.target], strict=True):
            lines += [f"{src}: {a}", f"{tgt}: {b}", ""]
        return "\n".join([*lines, f"{src}: {text}", f"{tgt}:"])

    def translate(self, texts: Sequence[str]) -> list[str]:
        from culturealign.models import load_model
        from culturealign.models.base import GenerationConfig

        if self._lm is None:
            self._lm = load_model(self.model_id, threads=self.threads)
        config = GenerationConfig(max_new_tokens=self.max_new_tokens, stop=("\n",))
        outs = self._lm.generate([self.prompt(t) for t in texts], config)
        return [clean_output(o, language(self.target).name) for o in outs]


PROMPT_VERSION = "fewshot-2"
_PREAMBLE = re.compile(
    r"^\s*(sure[,!.]?|here is|here's|the translation|translation|in \w+)[^:\n]*:\s*", re.I
)
_QUOTES = "\"'“”‘’「」『』"


def clean_output(text: str, target_name: str) -> str:
    """First line, without a "Here is the translation:" preamble, a label or wrapping quotes."""
    line = text.strip().split("\n", 1)[0].strip()
    line = re.sub(rf"^{re.escape(target_name)}\s*:\s*", "", line)
    line = _PREAMBLE.sub("", line, count=1).strip()
    if len(line) >= 2 and line[0] in _QUOTES and line[-1] in _QUOTES:
        line = line[1:-1].strip()
    return line
