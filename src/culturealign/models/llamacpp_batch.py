"""Continuous-batching generation on llama.cpp's batch API (llama-cpp-python's low-level bindings).

llama-cpp-python's ``create_completion`` decodes one sequence at a time, so on a CPU every
decoding step's matrix products serve a single token. Here up to ``parallel`` prompts run as
separate sequences of one llama.cpp context with a unified KV cache: one ``llama_decode`` call
per step evaluates the next token of every running sequence, and a finished sequence's slot takes
the next prompt at once (continuous batching, as llama.cpp's own ``llama-server --parallel``
does). The prompts' common token prefix (the few-shot block of an evaluation prompt) is
evaluated once in a sequence of its own and shared by every slot (``llama_memory_seq_cp``).

Decoding follows ``create_completion``: greedy is the arg-max of the last position's logits; a
sequence ends at an end-of-generation token, at ``max_new_tokens`` or at the first stop string
(cut before it); the text is the bytes of the generated pieces decoded as UTF-8. Sampling
(``temperature > 0``) draws from temperature-scaled logits cut to top-k then top-p, with a
generator seeded by ``(seed, prompt index)``: reproducible whatever the batch composition, but
not the same draws as llama.cpp's own sampler chain.
"""

from __future__ import annotations

import ctypes
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from culturealign.errors import CultureAlignError
from culturealign.models.base import GenerationConfig, Progress

N_BATCH = 512  # tokens per llama_decode call (llama.cpp's default logical batch)
CANDIDATES = 1024  # logits sorted per sampled token, when they hold the top-p mass


@dataclass
class _Slot:
    """One running sequence: prompt ``index`` decoding at position ``pos`` of its own seq id."""

    index: int
    pos: int
    rng: np.random.Generator | None
    generated: int = 0  # new tokens so far
    text: bytearray = field(default_factory=bytearray)
    done: str | None = None  # the final text once finished


@dataclass
class _Entry:
    token: int
    pos: int
    seq: int
    logits: bool


class BatchedGenerator:
    """Generates for many prompts at once on a second llama.cpp context of ``llm``'s model."""

    def __init__(self, llm: Any, parallel: int) -> None:
        import llama_cpp

        limit = llama_cpp.llama_max_parallel_sequences() - 1  # one sequence holds the prefix
        if not 1 <= parallel <= limit:
            raise CultureAlignError(
                f"parallel={parallel}: llama.cpp runs at most {limit} sequences at once",
                f"use a parallel= option between 1 and {limit}",
            )
        self._lib = llama_cpp
        self.llm = llm
        self.parallel = parallel
        self.n_ctx = llm.n_ctx()  # the longest sequence (prompt + new tokens) allowed
        self._ctx: Any = None
        self._cells = 0  # KV cells of the current context
        self._batch: Any = None
        self._vocab = llm._model.vocab
        self._n_vocab = llm.n_vocab()

    def generate(
        self,
        prompts: Sequence[list[int]],
        config: GenerationConfig,
        progress: Progress | None = None,
    ) -> list[str]:
        if not prompts or config.max_new_tokens <= 0:
            return [""] * len(prompts)
        for tokens in prompts:
            if not tokens:
                raise CultureAlignError("an empty prompt has nothing to continue", "drop it")
            if len(tokens) + config.max_new_tokens > self.n_ctx:
                raise CultureAlignError(
                    f"a prompt of {len(tokens)} tokens plus {config.max_new_tokens} new tokens "
                    f"exceeds the context of {self.n_ctx}",
                    "raise n_ctx (llamacpp:<model>#n_ctx=...) or shorten the prompt",
                )
        shared = _common_prefix(prompts)
        longest = max(len(p) for p in prompts) - shared
        self._open(shared + self.parallel * (longest + config.max_new_tokens))
        prefix_seq = self.parallel  # seq ids 0..parallel-1 are the slots
        if shared:
            prefix = prompts[0][:shared]
            self._decode([_Entry(t, i, prefix_seq, False) for i, t in enumerate(prefix)])
        stops = [s.encode("utf-8") for s in config.stop if s]
        queue = deque(range(len(prompts)))
        free = list(range(self.parallel - 1, -1, -1))
        slots: dict[int, _Slot] = {}
        results: list[str | None] = [None] * len(prompts)
        step: list[_Entry] = []
        while queue or slots:
            while queue and free:
                seq, index = free.pop(), queue.popleft()
                slots[seq] = self._admit(seq, index, prompts[index], shared, config, step)
            outputs = self._decode(step)
            step = []
            for seq, row in outputs:
                slot = slots[seq]
                token = self._next_token(row, slot, config)
                if self._advance(slot, token, stops, config.max_new_tokens):
                    results[slot.index] = slot.done
                    self._mem_rm(seq)
                    del slots[seq]
                    free.append(seq)
                    if progress:
                        progress(1)
                else:
                    step.append(_Entry(token, slot.pos, seq, True))
                    slot.pos += 1
        return [r if r is not None else "" for r in results]

    def _admit(
        self,
        seq: int,
        index: int,
        tokens: list[int],
        shared: int,
        config: GenerationConfig,
        step: list[_Entry],
    ) -> _Slot:
        if shared:
            self._lib.llama_memory_seq_cp(self._memory, self.parallel, seq, -1, -1)
        suffix = tokens[shared:]
        last = len(suffix) - 1
        step.extend(_Entry(t, shared + i, seq, i == last) for i, t in enumerate(suffix))
        rng = np.random.default_rng((config.seed, index)) if config.temperature > 0 else None
        return _Slot(index=index, pos=len(tokens), rng=rng)

    def _advance(self, slot: _Slot, token: int, stops: list[bytes], max_new: int) -> bool:
        """Append ``token`` to ``slot``; True (and ``slot.done`` set) when the sequence ends."""
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            slot.done = bytes(slot.text).decode("utf-8", errors="ignore")
            return True
        slot.generated += 1
        slot.text += self._piece(token)
        cut = min((i for s in stops if (i := slot.text.find(s)) >= 0), default=-1)
        if cut >= 0:
            slot.done = bytes(slot.text[:cut]).decode("utf-8", errors="ignore")
            return True
        if slot.generated >= max_new:
            slot.done = bytes(slot.text).decode("utf-8", errors="ignore")
            return True
        return False

    def _next_token(self, logits: np.ndarray, slot: _Slot, config: GenerationConfig) -> int:
        if slot.rng is None:
            return int(np.argmax(logits))
        return _sample(logits, slot.rng, config)

    def _piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self._lib.llama_token_to_piece(self._vocab, token, buf, 64, 0, False)
        return buf.raw[: max(n, 0)]

    # --- the llama.cpp context -------------------------------------------------------------

    def _open(self, cells: int) -> None:
        """A context with at least ``cells`` KV cells and ``parallel + 1`` sequences, cleared."""
        cells = max(256, -(-(cells + N_BATCH) // 256) * 256)
        if self._ctx is None or cells > self._cells:
            from llama_cpp._internals import LlamaBatch, LlamaContext
            from llama_cpp._utils import suppress_stdout_stderr

            base = self.llm.context_params
            params = type(base).from_buffer_copy(base)
            params.n_ctx, params.n_batch, params.n_ubatch = cells, N_BATCH, N_BATCH
            params.n_seq_max = self.parallel + 1
            # One cell pool: the shared prefix is stored once. Measured on 200 JCM prompts
            # (gemma-3-270m, 2 cores): separate per-sequence caches ran at half the speed.
            params.kv_unified = True
            params.swa_full = True  # sliding-window layers keep every cell of the shared prefix
            params.flash_attn_type = self._lib.LLAMA_FLASH_ATTN_TYPE_ENABLED  # ~10% faster here
            if self._ctx is not None:
                self._ctx.close()
            with suppress_stdout_stderr(disable=False):  # llama.cpp's context-creation log
                self._ctx = LlamaContext(model=self.llm._model, params=params, verbose=False)
            self._cells = cells
            if self._batch is None:
                self._batch = LlamaBatch(n_tokens=N_BATCH, embd=0, n_seq_max=1, verbose=False)
        self._lib.llama_memory_clear(self._memory, True)

    @property
    def _memory(self) -> Any:
        return self._ctx.memory

    def _mem_rm(self, seq: int) -> None:
        self._lib.llama_memory_seq_rm(self._memory, seq, -1, -1)

    def _decode(self, entries: list[_Entry]) -> list[tuple[int, np.ndarray]]:
        """Evaluate ``entries`` in chunks of ``N_BATCH``; (seq id, logits) of those asking.

        A row is a view of llama.cpp's output buffer, valid until the next decode: rows of all
        but the last chunk are copied.
        """
        out: list[tuple[int, np.ndarray]] = []
        for start in range(0, len(entries), N_BATCH):
            chunk = entries[start : start + N_BATCH]
            batch = self._batch.batch
            batch.n_tokens = len(chunk)
            for i, e in enumerate(chunk):
                batch.token[i], batch.pos[i] = e.token, e.pos
                batch.seq_id[i][0], batch.n_seq_id[i], batch.logits[i] = e.seq, 1, e.logits
            code = self._lib.llama_decode(self._ctx.ctx, batch)
            if code != 0:
                raise CultureAlignError(
                    f"llama_decode failed with code {code} ({len(chunk)} tokens, "
                    f"{self._cells} KV cells)",
                    "lower the parallel= option of the llamacpp model",
                )
            seqs = [e.seq for e in chunk if e.logits]
            if not seqs:
                continue
            rows = np.ctypeslib.as_array(
                self._lib.llama_get_logits(self._ctx.ctx), shape=(len(seqs), self._n_vocab)
            )
            if start + N_BATCH < len(entries):
                rows = rows.copy()
            out.extend(zip(seqs, rows, strict=True))
        return out

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()
            self._ctx = None


def _common_prefix(prompts: Sequence[list[int]]) -> int:
    """Length of the token prefix all prompts share, leaving each at least one token of its own."""
    first = prompts[0]
    n = min(len(p) for p in prompts) - 1
    for p in prompts[1:]:
        pairs = zip(first[:n], p[:n], strict=True)
        n = next((i for i, (a, b) in enumerate(pairs) if a != b), n)
    return max(n, 0)


def _sample(logits: np.ndarray, rng: np.random.Generator, config: GenerationConfig) -> int:
    """One draw from softmax(logits / T) cut to the top-k (renormalised), then to the top-p mass.

    Sorting a 262k vocabulary per token is slow: without a top-k cut, only the ``CANDIDATES``
    largest probabilities are sorted when they already hold the top-p mass (the nucleus is then
    inside them, exactly); otherwise everything is sorted.
    """
    scaled = logits.astype(np.float64) / config.temperature
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    vocab = len(probs)
    if config.top_k <= 0 and config.top_p >= 1.0:
        return int(rng.choice(vocab, p=probs))
    k = config.top_k if 0 < config.top_k < vocab else vocab
    if k <= CANDIDATES:
        order = np.argpartition(-probs, k - 1)[:k] if k < vocab else np.arange(vocab)
    else:
        order = np.argpartition(-probs, CANDIDATES - 1)[:CANDIDATES]
        if k < vocab or probs[order].sum() < config.top_p:
            order = np.argsort(-probs, kind="stable")[:k]
    order = order[np.argsort(-probs[order], kind="stable")]
    total = probs[order].sum() if k < vocab else 1.0  # the top-k cut renormalises
    kept = probs[order] / total
    if config.top_p < 1.0:
        n = int(np.searchsorted(np.cumsum(kept), config.top_p)) + 1
        order, kept = order[:n], kept[:n]
    return int(order[rng.choice(len(order), p=kept / kept.sum())])
