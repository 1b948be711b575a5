"""The in-process llama.cpp backend (``--model llamacpp:...``) against the HF backend."""

from __future__ import annotations

import math

import pytest

pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (pip install 'culturealign[llamacpp]')"
)

from culturealign.errors import CultureAlignError  # noqa: E402
from culturealign.models.base import ChoiceRequest, GenerationConfig  # noqa: E402
from tests.backends.conftest import (  # noqa: E402
    MODEL,
    check_agreement,
    eval_cli,
    read_items,
)

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def llama():
    from culturealign.models import load_model

    return load_model(f"llamacpp:{MODEL}", threads=1)


@pytest.mark.needs_data
@pytest.mark.parametrize("mode", ["choice", "generate"])
def test_agrees_with_hf_backend(hf_reference, tmp_path, mode):
    res = eval_cli(f"llamacpp:{MODEL}", tmp_path, "--mode", mode)
    assert res.returncode == 0, res.stderr[-2000:]
    records = read_items(tmp_path)
    check_agreement(hf_reference[mode], records)
    # Differences: llama.cpp's quantized arithmetic (see tests/backends/conftest.py).
    summary = (tmp_path / "summary.json").read_text()
    assert '"backend": "llamacpp"' in summary and '"dtype": "Q4_K_M"' in summary


def test_choice_logprobs_are_log_probabilities(llama, gemma):
    """Multi-token choices sum per-token log-probs; the values track the HF backend's."""
    req = ChoiceRequest("The capital of France is", "", (" Paris", " London", " Paris, France"))
    got, ref = llama.choice_logprobs([req])[0], gemma.choice_logprobs([req])[0]
    assert all(v < 0 for v in got) and got[0] > got[1] and got[2] < got[0]
    # Same best answer as HF, and close values (quantized arithmetic moves them a little;
    # London and "Paris, France" are within 0.2 of each other, so their order may differ).
    assert ref[0] > max(ref[1:])
    assert all(abs(a - b) < 1.0 for a, b in zip(got, ref, strict=True))
    # The prefix cache is reused across requests: a second identical call scores the same.
    again = llama.choice_logprobs([req, req])
    assert all(math.isclose(a, b, abs_tol=1e-4) for a, b in zip(again[1], got, strict=True))
    assert llama.work["tokens_reused"] > 0


def test_greedy_generation_is_deterministic(llama):
    free = llama.generate(["The capital of France is"], GenerationConfig(max_new_tokens=6))
    assert free == llama.generate(["The capital of France is"], GenerationConfig(max_new_tokens=6))
    word = free[0].split()[-1]  # a stop string ends the text before it
    cut = llama.generate(["The capital of France is"], GenerationConfig(6, stop=(" " + word,)))
    assert free[0].strip() and cut[0] == free[0][: free[0].index(" " + word)]


def test_missing_file_and_adapter_are_clear_errors(tmp_path):
    from culturealign.models import load_model

    with pytest.raises(CultureAlignError, match="GGUF file not found"):
        load_model(f"llamacpp:{tmp_path / 'nope.gguf'}")
    with pytest.raises(CultureAlignError, match="does not load PEFT adapters"):
        load_model(f"llamacpp:{MODEL}", adapter=tmp_path)
