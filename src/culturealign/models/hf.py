"""Hugging Face transformers backend (CPU fp32, CUDA bf16), with an optional PEFT LoRA adapter.

Choice scoring is the hot path of every judgement and survey task, so it avoids the waste of a
plain "forward the whole prompt for every choice" loop:

* the shared prefix (instruction + few-shot + persona) is encoded once and its KV cache reused;
* requests are sorted by length and cut into batches that minimise padded tokens plus a fixed
  cost per forward (on CPU a forward reads every weight once, whatever its size);
* sliding-window layers (gemma-3: 512) measure their window in cache slots, pads included, so
  a padded row whose prefix + batch reaches past the window would lose prefix tokens a plain
  forward sees: such rows go into batches of equal length (no padding). Short prompts, the
  common case, batch as before;
* every choice's first token is read from the request's last position (one forward per request
  when all choices are single tokens); longer choices continue from that batch's KV cache;
* the LM head runs only at the positions whose logits are needed: gemma-3's 262k-entry
  vocabulary makes it costlier than the body at every position; and once for up to 256 rows
  of many batches (``HeadQueue``), since on CPU reading its weight (671 MB) costs more than
  its arithmetic on one batch's ~25 rows.

:func:`plain_choice_logprobs` is the reference: a full forward per choice over the prompt
tokenized as one string plus the choice tokenized alone (lm-evaluation-harness's convention).
Tests check both agree to 1e-4.
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from culturealign.library_warnings import quiet_library_deprecations
from culturealign.models.base import (
    ChatMessage,
    ChoiceRequest,
    GenerationConfig,
    ModelInfo,
    Progress,
)
from culturealign.models.batching import HEAD_ROWS, Encoded, HeadQueue, length_batches
from culturealign.models.compat import (
    available_cores,
    cache_keyword,
    sliding_window,
    special_start_ids,
)
from culturealign.models.hf_tokenizer import load_tokenizer

DEFAULT_TOKEN_BUDGET = 4096  # tokens per forward batch; bounds activation memory on CPU


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
        self._prefix_tokens: dict[str, list[int]] = {}
        # Work done by choice scoring in this process: tokens fed (padding included), real
        # tokens, rows and forwards. Summaries record it; benchmarks turn it into FLOPs.
        self.work: Counter[str] = Counter()
        pad = tokenizer.pad_token_id
        self._pad = pad if pad is not None else (tokenizer.eos_token_id or 0)
        self._bos = special_start_ids(tokenizer)
        self._cache_kw = cache_keyword(model)
        self._window = sliding_window(model)

    # -- prompts ---------------------------------------------------------------------------
    @property
    def is_chat(self) -> bool:
        return self._chat

    def render_chat(self, messages: Sequence[ChatMessage]) -> str:
        text: str = self.tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            tokenize=False,
            add_generation_prompt=True,
        )
        return text

    def encode_prefix(self, prefix: str) -> list[int]:
        """Token ids of a prompt start: BOS added unless the text already carries it."""
        ids: list[int] = self.tokenizer(prefix, add_special_tokens=False)["input_ids"]
        if self._bos and ids[: len(self._bos)] != self._bos:
            ids = [*self._bos, *ids]
        if not ids:
            raise ValueError("a prompt prefix must not be empty")
        return ids

    def encode_piece(self, text: str) -> list[int]:
        if not text:
            return []
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    @property
    def device(self) -> torch.device:
        param: torch.Tensor = next(self.model.parameters())
        return param.device

    # -- choice log-probabilities ----------------------------------------------------------------
    @torch.inference_mode()
    def choice_logprobs(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float]]:
        out: list[list[float]] = [[] for _ in requests]
        groups: dict[str, list[Encoded]] = {}
        for i, req in enumerate(requests):
            key, row = self._split_at_cache(req.prefix, req.text)
            choices = [self.encode_piece(c) for c in req.choices]
            groups.setdefault(key, []).append(Encoded(i, row, choices))
        waiting = HeadQueue()
        for key, items in groups.items():
            prefix_ids, cache = self._prefix_state(key) if key else ([0], None)
            past = len(prefix_ids) - 1
            for batch in length_batches(items, self.token_budget, past, self._window):
                waiting.add(batch, *self._score_batch(cache, past, batch))
                if waiting.rows >= HEAD_ROWS:
                    waiting.flush(self._head_logp, out)
                if progress:
                    progress(len(batch))
        waiting.flush(self._head_logp, out)
        return out

    def _split_at_cache(self, prefix: str, text: str) -> tuple[str, list[int]]:
        """(cache key, tokens to feed after the cached prefix) for one prompt.

        The prompt is tokenized as one string, as every other tool does: a tokenizer may merge
        across the prefix/text boundary (smollm2 encodes a trailing "\n\n" differently when
        text follows). The cached prefix (all of its tokens but the last) is reused only when
        it is a token-exact start of the whole; otherwise the prompt is fed uncached (key "").
        """
        full = self.encode_prefix(prefix + text)
        prefix_ids = self._prefix_ids(prefix)
        cut = len(prefix_ids) - 1
        if cut > 0 and len(full) > cut and full[:cut] == prefix_ids[:cut]:
            return prefix, full[cut:]
        return "", full

    def _prefix_ids(self, prefix: str) -> list[int]:
        if prefix not in self._prefix_tokens:
            self._prefix_tokens[prefix] = self.encode_prefix(prefix)
        return self._prefix_tokens[prefix]

    def _prefix_state(self, prefix: str) -> tuple[list[int], Any]:
        """Token ids of ``prefix`` and the KV cache of all of them but the last."""
        if prefix not in self._prefix_cache:
            ids = self._prefix_ids(prefix)
            if len(self._prefix_cache) >= 4:  # callers group requests by prefix
                self._prefix_cache.pop(next(iter(self._prefix_cache)))
            cache = self._new_cache()
            inp = torch.tensor([ids[:-1]], device=self.device)
            self._count(inp.numel(), inp.numel(), 1)
            self.model(input_ids=inp, use_cache=True, logits_to_keep=1, **{self._cache_kw: cache})
            self._prefix_cache[prefix] = (ids, cache)
        return self._prefix_cache[prefix]

    def _new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config)

    def _score_batch(
        self, cache: Any, past: int, batch: list[Encoded]
    ) -> tuple[torch.Tensor, dict[tuple[int, int], float]]:
        """Each row's last hidden state (choices' first tokens are read from it after the LM
        head, see ``HeadQueue``), and by (row, choice) the log-prob of the other tokens of
        longer choices: a short forward continuing from this batch's KV cache."""
        multi = [(b, k) for b, e in enumerate(batch) for k, c in enumerate(e.choices) if len(c) > 1]
        kv = None
        if cache is not None:
            kv = copy.deepcopy(cache)
            kv.batch_repeat_interleave(len(batch))
        elif multi:
            kv = self._new_cache()
        hidden, mask = self._forward_tail(kv, past, [e.row for e in batch])
        rest: dict[tuple[int, int], float] = {}
        if multi:
            scores = self._continue(kv, mask, [batch[b].choices[k] for b, k in multi], multi)
            rest = dict(zip(multi, scores, strict=True))
        return hidden, rest

    def _head_logp(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-softmax of the LM head over ``hidden`` (rows x hidden size), on the CPU."""
        logits = self.model.get_output_embeddings()(hidden)
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:  # Gemma 2's, applied by its forward after the head
            logits = torch.tanh(logits / cap) * cap
        return torch.log_softmax(logits.float(), dim=-1).cpu()

    def _forward_tail(
        self, kv: Any, past: int, rows: list[list[int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder body over left-padded ``rows`` after ``past`` cached tokens: each row's
        last hidden state (left padding puts all last tokens at one position; pads between
        prefix and row are masked). The LM head runs later, on many batches' rows at once."""
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), past + width), dtype=torch.long)
        mask[:, :past] = 1
        for b, r in enumerate(rows):
            ids[b, width - len(r) :] = torch.tensor(r)
            mask[b, past + width - len(r) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, past:]
        self._count(ids.numel(), sum(len(r) for r in rows), len(rows))
        return self._run_body(ids, mask, positions, kv)[:, -1], mask

    def _continue(
        self, kv: Any, mask: torch.Tensor, choices: list[list[int]], rows: list[tuple[int, int]]
    ) -> list[float]:
        """Sum of log-probs of each choice's tokens after the first, one row per choice."""
        kv.batch_select_indices(torch.tensor([b for b, _ in rows], device=self.device))
        mask = mask[[b for b, _ in rows]]
        width = max(len(c) - 1 for c in choices)
        ids = torch.full((len(choices), width), self._pad, dtype=torch.long)
        tail = torch.zeros((len(choices), width), dtype=torch.long)
        for r, c in enumerate(choices):  # right-padded: pads come after every real token
            ids[r, : len(c) - 1] = torch.tensor(c[:-1])
            tail[r, : len(c) - 1] = 1
        positions = mask.sum(-1, keepdim=True) + torch.arange(width)
        self._count(ids.numel(), int(tail.sum()), len(choices))
        logits = self._run(ids, torch.cat([mask, tail], dim=1), positions, kv, keep=width)
        logp = torch.log_softmax(logits.float(), dim=-1).cpu()
        return [
            sum(float(logp[r, j - 1, c[j]]) for j in range(1, len(c)))
            for r, c in enumerate(choices)
        ]

    def _count(self, fed: int, real: int, rows: int) -> None:
        self.work.update(tokens_fed=fed, tokens_real=real, rows=rows, forwards=1)

    def _run(
        self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, kv: Any, keep: int
    ) -> torch.Tensor:
        dev = self.device
        logits: torch.Tensor = self.model(
            input_ids=ids.to(dev),
            attention_mask=mask.to(dev),
            position_ids=positions.to(dev),
            use_cache=kv is not None,
            logits_to_keep=keep,
            **{self._cache_kw: kv},
        ).logits
        return logits

    def _run_body(
        self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, kv: Any
    ) -> torch.Tensor:
        dev = self.device
        hidden: torch.Tensor = self.model.get_decoder()(
            input_ids=ids.to(dev),
            attention_mask=mask.to(dev),
            position_ids=positions.to(dev),
            use_cache=kv is not None,
            **{self._cache_kw: kv},
        ).last_hidden_state
        return hidden

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
                top_k=config.top_k if sample and config.top_k > 0 else None,
                pad_token_id=pad,
            )
            for b, i in enumerate(idx):
                text = self.tokenizer.decode(gen[b, width:], skip_special_tokens=True)
                out[i] = _cut_at_stop(text, config.stop)
            if progress:
                progress(len(idx))
        return out


def _cut_at_stop(text: str, stop: Sequence[str]) -> str:
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    return text if cut < 0 else text[:cut]


def plain_choice_logprobs(model: HFModel, requests: Sequence[ChoiceRequest]) -> list[list[float]]:
    """Reference path: one full forward per (request, choice), no cache, no batching, no pads.

    The LM head runs only at the positions that predict the choice (it is per-position, so
    this changes no number, and a 1,000-token gemma prompt no longer needs 1 GB of logits).
    """
    out = []
    with torch.inference_mode():
        for req in requests:
            ctx = model.encode_prefix(req.prefix + req.text)
            scores = []
            for choice in req.choices:
                cids = model.encode_piece(choice)
                ids = torch.tensor([ctx + cids], device=model.device)
                logits = model.model(input_ids=ids, logits_to_keep=len(cids) + 1).logits
                logp = torch.log_softmax(logits.float(), -1)[0]
                scores.append(sum(float(logp[j, t]) for j, t in enumerate(cids)))
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
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(threads or available_cores())
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch_dtype = (
        getattr(torch, dtype)
        if dtype
        else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
    )
    tok = load_tokenizer(path, revision=revision, trust_remote_code=trust_remote_code)
    lm: Any = AutoModelForCausalLM.from_pretrained(  # PeftModel may replace it below
        path,
        revision=revision,
        dtype=torch_dtype,
        trust_remote_code=trust_remote_code,
        use_safetensors=True,
    )
    adapter_hash = None
    if adapter is not None:
        from peft import PeftModel

        with quiet_library_deprecations():
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
