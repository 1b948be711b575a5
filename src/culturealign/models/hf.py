"""Hugging Face transformers backend (CPU fp32, CUDA bf16), with an optional PEFT LoRA adapter.

Choice scoring is the hot path of every judgement and survey task, so it avoids the waste of a
plain "forward the whole prompt for every choice" loop:

* the shared prefix (instruction + few-shot + persona) is encoded once and its KV cache reused;
* requests are sorted by length and batched, padding only to the batch's own maximum;
* single-token choices cost one forward per request, all choices read from the same position;
* the LM head runs only at the positions whose logits are needed (``logits_to_keep``): gemma-3's
  262k-entry vocabulary makes the head costlier than the transformer body at every position.

:func:`plain_choice_logprobs` is the reference: a full forward over the same token sequence per
choice. Tests check both agree to 1e-4.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from culturealign.models.base import (
    ChatMessage,
    ChoiceRequest,
    GenerationConfig,
    ModelInfo,
    Progress,
)

DEFAULT_TOKEN_BUDGET = 4096  # tokens per forward batch; bounds activation memory on CPU


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


@dataclass(frozen=True)
class _Encoded:
    index: int
    text: list[int]
    choices: list[list[int]]


class HFModel:
    """A causal LM loaded with transformers; see the module docstring for the fast paths."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        info: ModelInfo,
        chat: bool,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.info = info
        self._chat = chat
        self.token_budget = token_budget
        self._prefix_cache: dict[str, tuple[list[int], Any]] = {}
        self._bos = _special_start(tokenizer)
        self._cache_kw = _cache_keyword(model)

    # -- prompts ---------------------------------------------------------------------------
    @property
    def is_chat(self) -> bool:
        return self._chat

    def render_chat(self, messages: Sequence[ChatMessage]) -> str:
        return self.tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            tokenize=False,
            add_generation_prompt=True,
        )

    def encode_prefix(self, prefix: str) -> list[int]:
        """Token ids of a prompt start: BOS added unless the text already carries it."""
        ids = self.tokenizer(prefix, add_special_tokens=False)["input_ids"]
        if self._bos and ids[: len(self._bos)] != self._bos:
            ids = [*self._bos, *ids]
        if not ids:
            raise ValueError("a prompt prefix must not be empty")
        return ids

    def encode_piece(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # -- choice log-probabilities ----------------------------------------------------------------
    @torch.inference_mode()
    def choice_logprobs(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float]]:
        out: list[list[float]] = [[] for _ in requests]
        by_prefix: dict[str, list[int]] = {}
        for i, req in enumerate(requests):
            by_prefix.setdefault(req.prefix, []).append(i)
        for prefix, indices in by_prefix.items():
            prefix_ids, cache = self._prefix_state(prefix)
            encoded = [
                _Encoded(
                    i,
                    self.encode_piece(requests[i].text),
                    [self.encode_piece(c) for c in requests[i].choices],
                )
                for i in indices
            ]
            single = [e for e in encoded if all(len(c) == 1 for c in e.choices)]
            multi = [e for e in encoded if not all(len(c) == 1 for c in e.choices)]
            self._score_single(prefix_ids, cache, single, out, progress)
            self._score_multi(prefix_ids, cache, multi, out, progress)
        return out

    def _prefix_state(self, prefix: str) -> tuple[list[int], Any]:
        if prefix not in self._prefix_cache:
            ids = self.encode_prefix(prefix)
            if len(self._prefix_cache) >= 4:  # prompts rarely alternate among many prefixes
                self._prefix_cache.pop(next(iter(self._prefix_cache)))
            cache = None
            if len(ids) > 1:
                from transformers import DynamicCache

                cache = DynamicCache(config=self.model.config)
                inp = torch.tensor([ids[:-1]], device=self.device)
                self.model(
                    input_ids=inp, use_cache=True, logits_to_keep=1, **{self._cache_kw: cache}
                )
            self._prefix_cache[prefix] = (ids, cache)
        return self._prefix_cache[prefix]

    def _score_single(self, prefix_ids, cache, items, out, progress) -> None:
        """One row per request; every choice is read from the row's last position."""
        rows = [(e, [prefix_ids[-1], *e.text]) for e in items]
        for batch in _length_batches(rows, self.token_budget, len(prefix_ids)):
            logp = self._forward_tail(cache, len(prefix_ids) - 1, [r for _, r in batch], keep=1)
            for (e, _), lp in zip(batch, logp, strict=True):
                out[e.index] = [float(lp[-1, c[0]]) for c in e.choices]
            if progress:
                progress(len(batch))

    def _score_multi(self, prefix_ids, cache, items, out, progress) -> None:
        """One row per (request, choice); the head runs only where choice tokens are predicted."""
        rows = []
        for e in items:
            for k, choice in enumerate(e.choices):
                rows.append(((e, k), [prefix_ids[-1], *e.text, *choice[:-1]]))
        pending = {e.index: len(e.choices) for e in items}
        for batch in _length_batches(rows, self.token_budget, len(prefix_ids)):
            keep = max(len(e.choices[k]) for (e, k), _ in batch)
            logp = self._forward_tail(cache, len(prefix_ids) - 1, [r for _, r in batch], keep)
            for ((e, k), _), lp in zip(batch, logp, strict=True):
                choice = e.choices[k]
                tail = lp[keep - len(choice) :]
                score = sum(float(tail[j, t]) for j, t in enumerate(choice))
                if not out[e.index]:
                    out[e.index] = [0.0] * len(e.choices)
                out[e.index][k] = score
                pending[e.index] -= 1
                if pending[e.index] == 0 and progress:
                    progress(1)

    def _forward_tail(self, cache, past_len: int, rows: list[list[int]], keep: int) -> torch.Tensor:
        """Forward left-padded ``rows`` after the cached prefix; log-softmax of the last ``keep``.

        Left padding puts every row's last token at the same position, so ``logits_to_keep``
        can skip the LM head everywhere else. Pads sit between prefix and row and are masked.
        """
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), past_len + width), dtype=torch.long)
        mask[:, :past_len] = 1
        for b, r in enumerate(rows):
            ids[b, width - len(r) :] = torch.tensor(r)
            mask[b, past_len + width - len(r) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, past_len:]
        kv = None
        if cache is not None:
            kv = copy.deepcopy(cache)
            kv.batch_repeat_interleave(len(rows))
        dev = self.device
        logits = self.model(
            input_ids=ids.to(dev),
            attention_mask=mask.to(dev),
            position_ids=positions.to(dev),
            use_cache=kv is not None,
            logits_to_keep=keep,
            **{self._cache_kw: kv},
        ).logits
        return torch.log_softmax(logits.float(), dim=-1).cpu()

    # -- generation ------------------------------------------------------------------------
    @torch.inference_mode()
    def generate(
        self,
        prompts: Sequence[str],
        config: GenerationConfig,
        progress: Progress | None = None,
        batch_size: int = 16,
    ) -> list[str]:
        encoded = [self.encode_prefix(p) for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        out = [""] * len(prompts)
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        torch.manual_seed(config.seed)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for b, i in enumerate(idx):
                ids[b, width - len(encoded[i]) :] = torch.tensor(encoded[i])
                mask[b, width - len(encoded[i]) :] = 1
            sample = config.temperature > 0
            gen = self.model.generate(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                max_new_tokens=config.max_new_tokens,
                do_sample=sample,
                temperature=config.temperature if sample else None,
                top_p=config.top_p if sample else None,
                top_k=None,
                pad_token_id=pad,
            )
            for b, i in enumerate(idx):
                text = self.tokenizer.decode(gen[b, width:], skip_special_tokens=True)
                out[i] = _cut_at_stop(text, config.stop)
            if progress:
                progress(len(idx))
        return out


def _cache_keyword(model: Any) -> str:
    """transformers 5.x renames ``past_key_values`` to ``cache``; use whichever this one takes."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(base.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _special_start(tokenizer: Any) -> list[int]:
    """The special tokens the tokenizer puts before any text (usually BOS, sometimes none)."""
    with_special = tokenizer("a")["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    return (
        with_special[: len(with_special) - len(plain)]
        if with_special[-len(plain) :] == plain
        else []
    )


def _cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    return text if cut < 0 else text[:cut]


def _length_batches(rows: list, token_budget: int, prefix_len: int):
    """Yield batches of rows sorted by length, each within ``token_budget`` tokens."""
    rows = sorted(rows, key=lambda r: len(r[1]))
    batch: list = []
    width = 0
    for row in rows:
        new_width = max(width, len(row[1]))
        if batch and (len(batch) + 1) * (new_width + prefix_len // 8) > token_budget:
            yield batch
            batch, new_width = [], len(row[1])
        batch.append(row)
        width = new_width
    if batch:
        yield batch


def plain_choice_logprobs(model: HFModel, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
    """Reference path: one full forward per (request, choice), no cache, no batching."""
    out = []
    with torch.inference_mode():
        for req in requests:
            ctx = model.encode_prefix(req.prefix) + model.encode_piece(req.text)
            scores = []
            for choice in req.choices:
                cids = model.encode_piece(choice)
                ids = torch.tensor([ctx + cids], device=model.device)
                logp = torch.log_softmax(model.model(input_ids=ids).logits.float(), -1)[0]
                scores.append(sum(float(logp[len(ctx) - 1 + j, t]) for j, t in enumerate(cids)))
            out.append(scores)
    return out


def load_hf(
    path: str | Path,
    name: str,
    chat: bool | None = None,
    adapter: str | Path | None = None,
    device: str | None = None,
    dtype: str | None = None,
    threads: int | None = None,
    trust_remote_code: bool = False,
    revision: str | None = None,
) -> HFModel:
    """Load ``path`` (local folder or hub id) and optionally a LoRA adapter on top."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads or available_cores())
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch_dtype = (
        getattr(torch, dtype)
        if dtype
        else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
    )
    tok = AutoTokenizer.from_pretrained(
        path, revision=revision, trust_remote_code=trust_remote_code
    )
    lm = AutoModelForCausalLM.from_pretrained(
        path,
        revision=revision,
        dtype=torch_dtype,
        trust_remote_code=trust_remote_code,
        use_safetensors=True,
    )
    adapter_hash = None
    if adapter is not None:
        from peft import PeftModel

        lm = PeftModel.from_pretrained(lm, str(adapter))
        adapter_hash = _adapter_sha256(Path(adapter))
    lm.to(device).eval()
    is_chat = bool(tok.chat_template) if chat is None else chat
    info = ModelInfo(
        name=name,
        backend="hf",
        path=str(path),
        revision=revision,
        adapter=str(adapter) if adapter else None,
        adapter_sha256=adapter_hash,
        dtype=str(torch_dtype).removeprefix("torch."),
        device=device,
        chat_template=is_chat,
        extra={"threads": torch.get_num_threads()},
    )
    return HFModel(lm, tok, info, chat=is_chat)


def _adapter_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(path.glob("*.safetensors")):
        digest.update(f.read_bytes())
    return digest.hexdigest()
