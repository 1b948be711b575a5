"""Fast DPO log-probabilities for short completions (moral judgements: 1-2 tokens).

TRL's ``DPOTrainer`` forwards prompt+chosen and prompt+rejected as two full sequences, recomputes
them under gradient checkpointing, and runs the reference model on both at every step. When the
completions are a token or two, nearly all of that is the prompt, done four to five times. Here:

* the prompt is forwarded once per pair; its KV cache (kept in the autograd graph) feeds a tiny
  second forward over the completion tokens of chosen and rejected together;
* the tokens every prompt of a batch starts with (the instruction) are forwarded once per batch
  and their KV cache shared by all rows, as the evaluation backend does for few-shot prefixes
  (not when the batch is wider than a sliding attention window and padded, see
  :func:`pair_logps`);
* the completion tokens of chosen and rejected ride in the prompt's forward, after its last
  token, with a 4-D mask that keeps each completion to its prompt and itself (so no KV cache
  is copied per completion, and no second, tiny forward runs; :func:`_joint_states`);
* the LM head runs only where a completion token is predicted, once per batch over those hidden
  states joined (none for the shared prefix): with gemma-3's 262k-entry vocabulary the head is
  the costliest layer per position, and each pass reads its 671 MB weight forward and backward;
* reference log-probs never change under LoRA, so they are computed once with the adapter
  disabled (:func:`reference_logps`) and stored.

Tokenization mirrors TRL's for plain-text prompts (prompt and prompt+completion tokenized, the
completion starting where they diverge) so both paths see the same tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from culturealign.alignment.prefs import PreferencePair
from culturealign.models.compat import base_model, cache_keyword, sliding_window


class TokenizedPair(NamedTuple):
    prompt: list[int]
    chosen: list[int]
    rejected: list[int]


@dataclass
class PairBatch:
    """``B`` pairs: shared prefix, then prompts left-padded and completions right-padded.

    Masks are 1 on real tokens; pads between the shared prefix and a row's prompt are masked.
    """

    prefix_ids: torch.Tensor  # [1, S]: tokens all prompts start with (S may be 0)
    prompt_ids: torch.Tensor  # [B, P]: the rest of each prompt
    prompt_mask: torch.Tensor
    completion_ids: torch.Tensor  # [2B, C]: rows 2b = chosen b, 2b+1 = rejected b
    completion_mask: torch.Tensor

    def to(self, device: torch.device | str) -> PairBatch:
        return PairBatch(*(t.to(device) for t in vars(self).values()))

    @property
    def size(self) -> int:
        return self.prompt_ids.shape[0]


def tokenize_pair(tokenizer: Any, pair: PreferencePair, append_eos: bool = True) -> TokenizedPair:
    """Split tokens as TRL does: the completion starts where prompt and prompt+answer diverge."""
    eos = tokenizer.eos_token or ""

    def completion(text: str) -> str:
        return text if not append_eos or text.endswith(eos) else text + eos

    prompt = tokenizer(pair.prompt)["input_ids"]
    with_chosen = tokenizer(pair.prompt + completion(pair.chosen))["input_ids"]
    with_rejected = tokenizer(pair.prompt + completion(pair.rejected))["input_ids"]
    cut = min(_common_prefix(prompt, with_chosen), _common_prefix(prompt, with_rejected))
    return TokenizedPair(prompt[:cut], with_chosen[cut:], with_rejected[cut:])


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def shared_prefix(pairs: Sequence[TokenizedPair]) -> int:
    """Leading tokens common to every prompt, leaving each row at least its last prompt token."""
    shortest = min(len(p.prompt) for p in pairs)
    n = 0
    while n < shortest - 1 and all(p.prompt[n] == pairs[0].prompt[n] for p in pairs):
        n += 1
    return n


def collate(pairs: Sequence[TokenizedPair], pad_id: int, share_prefix: bool = True) -> PairBatch:
    """Split off the shared prefix; left-pad prompts (last tokens align), right-pad completions."""
    cut = shared_prefix(pairs) if share_prefix else 0
    prefix = torch.tensor([pairs[0].prompt[:cut]], dtype=torch.long).reshape(1, cut)
    pairs = [TokenizedPair(p.prompt[cut:], p.chosen, p.rejected) for p in pairs]
    width = max(len(p.prompt) for p in pairs)
    comp_width = max(max(len(p.chosen), len(p.rejected)) for p in pairs)
    b = len(pairs)
    prompt_ids = torch.full((b, width), pad_id, dtype=torch.long)
    prompt_mask = torch.zeros((b, width), dtype=torch.long)
    comp_ids = torch.full((2 * b, comp_width), pad_id, dtype=torch.long)
    comp_mask = torch.zeros((2 * b, comp_width), dtype=torch.long)
    for i, p in enumerate(pairs):
        prompt_ids[i, width - len(p.prompt) :] = torch.tensor(p.prompt)
        prompt_mask[i, width - len(p.prompt) :] = 1
        for row, comp in ((2 * i, p.chosen), (2 * i + 1, p.rejected)):
            comp_ids[row, : len(comp)] = torch.tensor(comp)
            comp_mask[row, : len(comp)] = 1
    return PairBatch(prefix, prompt_ids, prompt_mask, comp_ids, comp_mask)


def pair_logps(model: Any, batch: PairBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed completion log-probs ``(chosen [B], rejected [B])`` from one prompt forward.

    The decoder runs without its LM head; the hidden states that predict completion tokens
    (the last prompt position, and the real completion positions of the tail) are joined and
    the head runs once over them (:func:`_token_logps`).
    """
    from transformers import DynamicCache

    if _pads_cross_window(model, batch):
        batch = unshared(batch)
    base = base_model(model)
    body = base.get_decoder()  # LoRA layers sit inside it, so calling it directly trains them
    b, shared = batch.size, batch.prefix_ids.shape[1]
    tail = batch.completion_ids.shape[1] - 1
    joint = tail > 0 and _joint_fits(base, batch)
    cache = DynamicCache(config=base.config) if shared or (tail and not joint) else None
    kw = {cache_keyword(body): cache} if cache is not None else {}
    if shared:
        # One forward for the instruction every row starts with; its KV cache is repeated per
        # row and stays in the autograd graph, so LoRA gradients flow through it as usual.
        body(input_ids=batch.prefix_ids, use_cache=True, **kw)
        cache.batch_repeat_interleave(b)
    if joint:
        last, tails = _joint_states(body, base, batch, kw)
    else:
        last = _prompt_states(body, batch, kw)
        tails = _tail_states(body, batch, cache, tail, kw) if tail else None
    # The last prompt position predicts the first completion token of chosen and rejected alike.
    states, targets = [last], [batch.completion_ids[:, 0].view(b, 2)]
    rows = torch.empty(0, dtype=torch.long, device=last.device)
    if tails is not None:
        real = batch.completion_mask[:, 1:].bool()  # pads add nothing: no head there
        rows = real.nonzero()[:, 0]
        states.append(tails[real])
        targets.append(batch.completion_ids[:, 1:][real].view(-1, 1))
    logps = _token_logps(base, states, targets)
    first = logps[0].reshape(2 * b) * batch.completion_mask[:, 0]
    per_row = first if tails is None else first.index_add(0, rows, logps[1].squeeze(-1))
    return per_row[0::2], per_row[1::2]


def _prompt_states(body: Any, batch: PairBatch, kw: dict[str, Any]) -> torch.Tensor:
    """Hidden state ``[B, H]`` at each prompt's last token (after the cached shared prefix)."""
    b, shared = batch.size, batch.prefix_ids.shape[1]
    mask = torch.cat([batch.prompt_mask.new_ones((b, shared)), batch.prompt_mask], dim=1)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:]
    return body(
        input_ids=batch.prompt_ids,
        attention_mask=mask,
        position_ids=positions,
        use_cache=bool(kw),
        **kw,
    ).last_hidden_state[:, -1]


def _token_logps(
    base: Any, states: Sequence[torch.Tensor], targets: Sequence[torch.Tensor]
) -> list[torch.Tensor]:
    """Log-probs of ``targets[i]`` ``[N_i, K_i]`` after ``states[i]`` ``[N_i, H]``, one head pass.

    The head is the costliest layer per position (gemma-3: 262k x 640 weights); one matmul over
    the joined states reads its weight once forward and once backward instead of per forward.
    Softcapping follows the model's own forward (gemma).
    """
    logits = base.get_output_embeddings()(torch.cat(list(states)))
    cap = getattr(base.config, "final_logit_softcapping", None)
    if cap is not None:
        logits = torch.tanh(logits / cap) * cap
    logp = torch.log_softmax(logits.to(torch.promote_types(logits.dtype, torch.float32)), -1)
    out, start = [], 0
    for s, t in zip(states, targets, strict=True):
        out.append(logp[start : start + s.shape[0]].gather(-1, t))
        start += s.shape[0]
    return out


def _pads_cross_window(model: Any, batch: PairBatch) -> bool:
    """True when pads between the shared prefix and a row fall inside a sliding window.

    A sliding window (gemma-3: 512) counts cache slots, pads included, so there a short row
    would lose prefix tokens a plain forward sees. The last completion token fed sits at
    slot prefix + prompt width + completion width - 2.
    """
    window = sliding_window(model)
    shared, width = batch.prefix_ids.shape[1], batch.prompt_ids.shape[1]
    reach = shared + width + batch.completion_ids.shape[1] - 1
    padded = bool((batch.prompt_mask == 0).any())
    return window is not None and shared > 0 and padded and reach > window


def unshared(batch: PairBatch) -> PairBatch:
    """The same pairs with the shared prefix put back into each prompt, all pads first.

    Each row's tokens are then contiguous, so every window sees what a plain forward sees;
    the prefix is recomputed per row, which only wide (> window) padded batches pay.
    """
    b, shared = batch.size, batch.prefix_ids.shape[1]
    ids = torch.cat([batch.prefix_ids.expand(b, shared), batch.prompt_ids], dim=1)
    mask = torch.cat([batch.prompt_mask.new_ones((b, shared)), batch.prompt_mask], dim=1)
    order = torch.sort(mask, dim=1, stable=True).indices  # pads (0) first, token order kept
    return PairBatch(
        batch.prefix_ids[:, :0],
        ids.gather(1, order),
        mask.gather(1, order),
        batch.completion_ids,
        batch.completion_mask,
    )


def _tail_states(
    body: Any, batch: PairBatch, cache: Any, tail: int, kw: dict[str, Any]
) -> torch.Tensor:
    """Hidden states ``[2B, C-1, H]`` over completion tokens 1..C-1 after the cached prompt."""
    cache.batch_repeat_interleave(2)  # differentiable: gradients reach the prompt forward
    shared = batch.prefix_ids.shape[1]
    prompt_mask = batch.prompt_mask.repeat_interleave(2, dim=0)
    prompt_mask = torch.cat([prompt_mask.new_ones((prompt_mask.shape[0], shared)), prompt_mask], 1)
    mask = torch.cat([prompt_mask, batch.completion_mask[:, :-1]], dim=1)
    start = prompt_mask.sum(-1, keepdim=True)
    positions = start + torch.arange(tail, device=start.device)
    return body(
        input_ids=batch.completion_ids[:, :-1],
        attention_mask=mask,
        position_ids=positions,
        use_cache=True,
        **kw,
    ).last_hidden_state


def _joint_fits(base: Any, batch: PairBatch) -> bool:
    """Whether prompt and both tails can share one forward under a custom 4-D mask.

    transformers applies such a mask as given, for every layer: only the SDPA and eager
    kernels take one, and a sliding window is then not applied, which changes nothing only
    while every row fits in the window.
    """
    kernel = getattr(base.config, "_attn_implementation", None)
    window = sliding_window(base)
    reach = batch.prefix_ids.shape[1] + batch.prompt_ids.shape[1] + batch.completion_ids.shape[1]
    return kernel in ("sdpa", "eager") and (window is None or reach - 1 <= window)


def _joint_states(
    body: Any, base: Any, batch: PairBatch, kw: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward over ``[prompt | chosen tail | rejected tail]`` per pair.

    Returns the last prompt state ``[B, H]`` and the tail states ``[2B, C-1, H]`` (rows
    interleaved chosen/rejected as ``completion_ids``). Both tails start at the position after
    the prompt and see the prefix, the prompt and their own earlier tokens only, exactly what
    a forward over prompt + completion sees.
    """
    b, width, tail = batch.size, batch.prompt_ids.shape[1], batch.completion_ids.shape[1] - 1
    comp = batch.completion_ids[:, :-1]
    ids = torch.cat([batch.prompt_ids, comp[0::2], comp[1::2]], dim=1)
    shared = batch.prefix_ids.shape[1]
    mask = torch.cat([batch.prompt_mask.new_ones((b, shared)), batch.prompt_mask], dim=1)
    start = mask.sum(-1, keepdim=True)
    after = start + torch.arange(tail, device=start.device)
    positions = torch.cat([(mask.cumsum(-1) - 1).clamp(min=0)[:, shared:], after, after], dim=1)
    hidden = body(
        input_ids=ids,
        attention_mask=_joint_mask(batch, base.config, base.dtype),
        position_ids=positions,
        use_cache=bool(kw),
        **kw,
    ).last_hidden_state
    tails = torch.stack([hidden[:, width : width + tail], hidden[:, width + tail :]], dim=1)
    return hidden[:, width - 1], tails.reshape(2 * b, tail, -1)


def _joint_mask(batch: PairBatch, config: Any, dtype: torch.dtype) -> torch.Tensor:
    """``[B, 1, Q, S + Q]`` mask for :func:`_joint_states` (bool for SDPA, additive for eager).

    Keys: the shared prefix (all), the prompt (causal, pads masked), each tail (causal within
    itself, seen only by its own tail). A pad query also sees itself, so no row is empty.
    """
    b, width = batch.prompt_ids.shape
    tail, shared = batch.completion_ids.shape[1] - 1, batch.prefix_ids.shape[1]
    device = batch.prompt_ids.device
    segment = torch.tensor([0] * width + [1] * tail + [2] * tail, device=device)
    index = torch.cat([torch.arange(width, device=device), torch.arange(tail, device=device)])
    index = torch.cat([index, index[width:]])
    causal = index[None, :] <= index[:, None]
    q, k = segment[:, None], segment[None, :]
    allowed = ((k == 0) & ((q > 0) | causal)) | ((k == q) & (k > 0) & causal)
    real = torch.cat([batch.prompt_mask.bool(), allowed.new_ones((b, 2 * tail))], dim=1)
    rows = (allowed[None] & real[:, None, :]) | torch.eye(
        len(segment), dtype=torch.bool, device=device
    )
    rows = torch.cat([rows.new_ones((b, len(segment), shared)), rows], dim=2)[:, None]
    if getattr(config, "_attn_implementation", None) == "sdpa":
        return rows
    return torch.zeros(rows.shape, dtype=dtype, device=device).masked_fill(
        ~rows, torch.finfo(dtype).min
    )


@torch.inference_mode()
def reference_logps(
    model: Any,
    tokenized: Sequence[TokenizedPair],
    pad_id: int,
    batch_size: int = 16,
    progress: Any = None,
    indices: Sequence[int] | None = None,
) -> torch.Tensor:
    """``[N, 2]`` (chosen, rejected) log-probs of the model with its LoRA adapter disabled.

    Computed once: the frozen base is the DPO reference, and LoRA never changes it. Batches
    are sorted by length so padding stays small. Only ``indices`` (default all) are computed;
    the other rows are NaN, so a pair used without its reference fails loudly.
    """
    out = torch.full((len(tokenized), 2), float("nan"), dtype=torch.float64)
    wanted = range(len(tokenized)) if indices is None else indices
    order = sorted(wanted, key=lambda i: len(tokenized[i].prompt))
    device = next(model.parameters()).device
    with _adapter_disabled(model):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = collate([tokenized[i] for i in idx], pad_id).to(device)
            chosen, rejected = pair_logps(model, batch)
            out[idx, 0] = chosen.double().cpu()
            out[idx, 1] = rejected.double().cpu()
            if progress is not None:
                progress(len(idx))
    return out


def _adapter_disabled(model: Any) -> Any:
    if hasattr(model, "disable_adapter"):
        return model.disable_adapter()
    raise TypeError("reference_logps needs a PEFT model (the reference is the adapter-less base)")
