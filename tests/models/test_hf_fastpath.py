"""The fast choice-scoring path must give the plain full-forward log-probs (to 1e-4)."""

from dataclasses import asdict

import pytest

from culturealign.data import load_ethics, load_jcm
from culturealign.models.base import ChatMessage, ChoiceRequest, GenerationConfig
from culturealign.models.hf import plain_choice_logprobs
from culturealign.prompts.moral import TEMPLATES, render_moral

pytestmark = pytest.mark.integration


def _requests(model, data, language, shots, n):
    chat = model.render_chat if model.is_chat else None
    return [render_moral(it, TEMPLATES[language], shots, chat).request() for it in data.items[:n]]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_gemma_fast_equals_plain(gemma, language):
    shots = load_jcm("val").items[:3]
    reqs = _requests(gemma, load_jcm("test"), language, shots, 6)
    fast, plain = gemma.choice_logprobs(reqs), plain_choice_logprobs(gemma, reqs)
    for f, p in zip(fast, plain, strict=True):
        assert f == pytest.approx(p, abs=1e-4)


def test_gemma_mixed_lengths_split_into_batches_equal_plain(gemma):
    # A long row among short ones gets its own forward rather than padding them all.
    reqs = _requests(gemma, load_jcm("test"), "ja", load_jcm("val").items[:3], 8)
    long = ChoiceRequest(reqs[0].prefix, "".join(r.text for r in reqs), reqs[0].choices)
    reqs.append(long)
    gemma._prefix_cache.clear()
    before = gemma.work["forwards"]
    fast = gemma.choice_logprobs(reqs)
    assert gemma.work["forwards"] - before >= 3  # the prefix, then at least two batches
    plain = plain_choice_logprobs(gemma, reqs)
    for f, p in zip(fast, plain, strict=True):
        assert f == pytest.approx(p, abs=1e-4)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_smollm_chat_fast_equals_plain(smollm, language):
    # Answers are multi-token for smollm2 (誤 is 3 tokens, "not wrong" 2): the continuation path.
    # Its tokenizer merges "\n\n" differently when text follows, which the fast path must see.
    reqs = _requests(smollm, load_ethics("test"), language, load_ethics("test_hard").items[:2], 6)
    assert any(len(smollm.encode_piece(c)) > 1 for c in reqs[0].choices)
    fast, plain = smollm.choice_logprobs(reqs), plain_choice_logprobs(smollm, reqs)
    for f, p in zip(fast, plain, strict=True):
        assert f == pytest.approx(p, abs=1e-4)


def test_generate_is_greedy_and_batched_like_single(smollm):
    prompts = [smollm.render_chat([ChatMessage("user", "Hi")]), "Say yes"]
    cfg = GenerationConfig(max_new_tokens=6)
    both = smollm.generate(prompts, cfg)
    alone = [smollm.generate([p], cfg)[0] for p in prompts]
    assert both == alone and all(isinstance(t, str) for t in both)


def test_top_k_cuts_sampling(smollm):
    """top-k 1 leaves only the greedy token, even at a temperature where sampling wanders."""
    prompts = [smollm.render_chat([ChatMessage("user", "Name a colour.")])]
    greedy = smollm.generate(prompts, GenerationConfig(max_new_tokens=8))
    hot = GenerationConfig(max_new_tokens=8, temperature=5.0, seed=1)
    assert smollm.generate(prompts, hot) != greedy  # the check below can fail
    assert smollm.generate(prompts, GenerationConfig(**{**asdict(hot), "top_k": 1})) == greedy
