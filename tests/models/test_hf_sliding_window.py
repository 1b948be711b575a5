"""Prompts past gemma-3's 512-token sliding window, batched with rows of very different lengths.

The fast path left-pads rows after a cached prefix. A sliding window counts those pads as
tokens, so a short row in a wide batch could lose prefix tokens that a plain forward sees.
"""

import pytest

from culturealign.data import load_jcm
from culturealign.models.base import ChoiceRequest
from culturealign.models.batching import Encoded, length_batches
from culturealign.models.hf import plain_choice_logprobs

CHOICES = (" 正", " どちらとも言えない")  # one token, and several: the continuation path


def _shots(n: int) -> str:
    items = load_jcm("val").items[:n]
    return "".join(f"{it.text}\n答え: {'誤り' if it.label else '正'}\n\n" for it in items)


@pytest.mark.integration
@pytest.mark.parametrize("shots", [22, 34])  # cached prefix below and above the window
def test_long_padded_batch_equals_plain_forward(gemma, shots):
    items = load_jcm("test").items
    texts = [items[0].text, " ".join(it.text for it in items[1:16]), items[9].text + "。"]
    reqs = [ChoiceRequest(_shots(shots), t + "\n答え:", CHOICES) for t in texts]
    prompt_lengths = [len(gemma.encode_prefix(r.prefix + r.text)) for r in reqs]
    assert max(prompt_lengths) > 512 and min(prompt_lengths) < max(prompt_lengths) - 100
    assert any(len(gemma.encode_piece(c)) > 1 for c in CHOICES)
    fast, plain = gemma.choice_logprobs(reqs), plain_choice_logprobs(gemma, reqs)
    for f, p in zip(fast, plain, strict=True):
        assert f == pytest.approx(p, abs=1e-4)


def _item(i: int, length: int) -> Encoded:
    return Encoded(i, [5] * length, [[7], [8, 9]])


def _widths(batches) -> list[list[int]]:
    return [[len(e.row) for e in b] for b in batches]


def test_short_prompts_still_share_one_padded_batch():
    items = [_item(i, n) for i, n in enumerate([30, 10, 20])]
    assert _widths(length_batches(items, 4096, past=300, window=512)) == [[10, 20, 30]]


def test_padded_rows_past_the_window_never_share_a_batch():
    items = [_item(i, n) for i, n in enumerate([30, 10, 10, 20, 30])]
    batches = length_batches(items, 4096, past=495, window=512)
    assert _widths(batches) == [[10, 10], [20], [30, 30]]
    # Without a sliding window (smollm2, llama) nothing changes.
    assert _widths(length_batches(items, 4096, past=495, window=None)) == [[10, 10, 20, 30, 30]]


def test_a_long_row_does_not_pad_many_short_ones():
    # One batch would feed 11 x 200 tokens for 250 real ones; a second forward is far cheaper.
    items = [_item(i, 5) for i in range(10)] + [_item(10, 200)]
    assert _widths(length_batches(items, 4096, past=20, window=None)) == [[5] * 10, [200]]


def test_the_token_budget_still_bounds_a_batch():
    items = [_item(i, 100) for i in range(50)]
    assert all(len(b) * 100 <= 1024 for b in length_batches(items, 1024, past=0, window=None))
