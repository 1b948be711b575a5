"""Batched llama.cpp generation (``llamacpp:...#parallel=N``) against the one-by-one reference.

The reference is llama-cpp-python's ``create_completion`` (``parallel=1``), one prompt at a
time. The batched path decodes several sequences per ``llama_decode`` call and shares the
prompts' common prefix, so it must produce the same texts, stop where the reference stops, keep
the prompts' order, and sample reproducibly.

Exact equality is tested on the F32 GGUF (``equal_weight_gguf``). On a quantized file llama.cpp's
arithmetic depends on how many tokens a call evaluates (its quantized kernels differ between one
row and many; the batched context also uses flash attention), so greedy texts there diverge at
near ties: measured on 24 JCM prompts (32 tokens, Q4_K_M), 9 texts identical at parallel=16 and
10 at parallel=1 through the batched code (prefix and rest in separate calls), against 24 of 24
on the F32 file in both cases.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (pip install 'culturealign[llamacpp]')"
)

from culturealign.errors import CultureAlignError  # noqa: E402
from culturealign.models.base import GenerationConfig  # noqa: E402
from culturealign.models.llamacpp_batch import CANDIDATES, _common_prefix, _sample  # noqa: E402
from tests.backends.conftest import MODEL  # noqa: E402

pytestmark = [pytest.mark.integration]

FEW_SHOT = (
    "Q: What is the capital of France?\nA: Paris\n"
    "Q: What is the capital of Japan?\nA: Tokyo\n"
    "Q: What is the capital of Italy?\nA: Rome\n"
)
QUESTIONS = [
    "Germany", "Spain", "Canada", "Egypt", "Kenya", "Peru", "Norway", "India",
    "Brazil", "Chile", "Greece", "Poland", "Vietnam",
]  # fmt: skip
PROMPTS = [f"{FEW_SHOT}Q: What is the capital of {c}?\nA:" for c in QUESTIONS]


@pytest.fixture(scope="module")
def f32(equal_weight_gguf):
    """The F32 file: float arithmetic that does not depend on the batch shape."""
    from culturealign.models import load_model

    return load_model(f"llamacpp:{equal_weight_gguf}", threads=1)


@pytest.fixture(scope="module")
def q4():
    """The shipped Q4_K_M file, what a user runs; ``parallel`` is switched per test."""
    from culturealign.models import load_model

    return load_model(f"llamacpp:{MODEL}", threads=1)


def _generate(lm, parallel: int, prompts, config):
    lm.set_parallel(parallel)
    return lm.generate(prompts, config)


def test_batched_greedy_equals_one_by_one(f32):
    """13 prompts through 4 slots (continuous admission) and through 16: the reference texts."""
    config = GenerationConfig(max_new_tokens=12)
    reference = _generate(f32, 1, PROMPTS, config)
    assert len(set(reference)) > 5  # real, varied completions
    assert _generate(f32, 4, PROMPTS, config) == reference
    assert _generate(f32, 16, PROMPTS, config) == reference


def test_stop_strings_and_lengths_follow_the_reference(f32):
    """A stop string cuts before it; different prompt lengths keep their order in the output."""
    prompts = PROMPTS[:3] + ["Once upon a time", "1, 2, 3, 4,"]
    config = GenerationConfig(max_new_tokens=10, stop=("\n",))
    reference = _generate(f32, 1, prompts, config)
    got = _generate(f32, 3, prompts, config)
    assert got == reference
    assert all("\n" not in text for text in got)


def test_sampling_is_reproducible_and_seeded(q4):
    config = GenerationConfig(max_new_tokens=8, temperature=1.0, top_p=0.9, seed=3)
    first = _generate(q4, 4, PROMPTS[:6], config)
    assert _generate(q4, 4, PROMPTS[:6], config) == first
    other = _generate(q4, 4, PROMPTS[:6], GenerationConfig(8, 1.0, 0.9, seed=4))
    assert other != first
    # top-k 1 is greedy whatever the temperature
    greedy = _generate(q4, 4, PROMPTS[:6], GenerationConfig(max_new_tokens=8))
    assert _generate(q4, 4, PROMPTS[:6], GenerationConfig(8, 1.0, 1.0, top_k=1)) == greedy


def test_too_long_a_prompt_is_a_clear_error(q4):
    with pytest.raises(CultureAlignError, match="exceeds the context"):
        _generate(q4, 4, ["word " * 5000], GenerationConfig(max_new_tokens=4))
    with pytest.raises(CultureAlignError, match="at most"):
        _generate(q4, 100_000, PROMPTS[:2], GenerationConfig(max_new_tokens=4))
    with pytest.raises(CultureAlignError, match="parallel=0"):
        q4.set_parallel(0)
    q4.set_parallel(3)
    assert q4.info.extra["parallel"] == 3  # what summary.json records


def test_too_many_sequences_fail_at_load():
    from culturealign.models import load_model

    with pytest.raises(CultureAlignError, match="at most"):
        load_model(f"llamacpp:{MODEL}#parallel=100000", threads=1)


def test_parallel_option_is_parsed_and_checked():
    from culturealign.models.llamacpp import parse_spec

    assert parse_spec("x.gguf#parallel=8")[1] == {"parallel": 8}
    assert parse_spec("x.gguf#parallel=8,head=BF16")[1] == {"parallel": 8, "head": "bf16"}
    with pytest.raises(CultureAlignError, match="parallel=<int >= 1>"):
        parse_spec("x.gguf#parallel=0")
    with pytest.raises(CultureAlignError, match="head=bf16"):
        parse_spec("x.gguf#head=f16")


def test_common_prefix_leaves_every_prompt_a_token():
    assert _common_prefix([[1, 2, 3, 4], [1, 2, 5]]) == 2
    assert _common_prefix([[1, 2, 3], [1, 2, 3]]) == 2
    assert _common_prefix([[7, 8]]) == 1
    assert _common_prefix([[1], [2]]) == 0


def _frequencies(logits, config, n=4000):
    rng = np.random.default_rng(0)
    draws = [_sample(logits, rng, config) for _ in range(n)]
    return np.bincount(draws, minlength=len(logits)) / n


def test_sample_top_k_and_top_p_keep_the_right_tokens():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], dtype=np.float32))
    greedy = GenerationConfig(temperature=1.0, top_k=1)
    assert {_sample(logits, np.random.default_rng(s), greedy) for s in range(20)} == {0}
    # top-p 0.7: the nucleus is {0, 1} (0.5 < 0.7 <= 0.8), renormalised to 0.625 / 0.375
    freq = _frequencies(logits, GenerationConfig(temperature=1.0, top_p=0.7))
    assert freq[2] == freq[3] == 0 and abs(freq[0] - 0.625) < 0.03
    # no cut: the plain softmax
    freq = _frequencies(logits, GenerationConfig(temperature=1.0))
    assert np.allclose(freq, [0.5, 0.3, 0.15, 0.05], atol=0.03)


def test_sample_sorts_everything_when_the_head_lacks_the_mass():
    """A flat distribution over more than CANDIDATES tokens: the nucleus is outside the head."""
    logits = np.zeros(CANDIDATES * 4, dtype=np.float32)
    config = GenerationConfig(temperature=1.0, top_p=0.9)
    draws = {_sample(logits, np.random.default_rng(s), config) for s in range(64)}
    assert max(draws) >= CANDIDATES  # tokens beyond the first CANDIDATES are drawn


def test_sample_top_p_over_a_large_vocabulary_uses_the_full_distribution():
    """The nucleus is cut on the full distribution's mass, not on the candidates' alone.

    Token 0 holds 0.6, the next 1023 tokens 0.2, the other 3072 tokens 0.2. The top-0.7 nucleus
    is token 0 plus ~512 small ones, so token 0 is drawn with probability 0.6 / 0.7 = 0.857;
    renormalising over the 1024 candidates first would make it 0.75 >= 0.7 alone (always drawn).
    """
    probs = np.concatenate([[0.6], np.full(1023, 0.2 / 1023), np.full(3072, 0.2 / 3072)])
    freq = _frequencies(np.log(probs), GenerationConfig(temperature=1.0, top_p=0.7), n=3000)
    assert abs(freq[0] - 0.6 / 0.7) < 0.03
