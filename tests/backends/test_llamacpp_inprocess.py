"""The in-process llama.cpp backend (``--model llamacpp:...``) against the HF backend.

Agreement runs on equal weights: llama.cpp loads an F32 GGUF de-quantized from the shipped
Q4_K_M file (``equal_weight_gguf``), the weights the HF backend runs, so the issue's >= 95% is
checked without quantization in the way (the server tests cover the shipped Q4_K_M file).
"""

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
    check_quantized_agreement,
    eval_cli,
    read_items,
)

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def llama(equal_weight_gguf):
    from culturealign.models import load_model

    return load_model(f"llamacpp:{equal_weight_gguf}", threads=1)


@pytest.mark.needs_data
@pytest.mark.parametrize("mode", ["choice", "generate"])
def test_agrees_with_hf_backend_on_equal_weights(hf_reference, equal_weight_gguf, tmp_path, mode):
    res = eval_cli(f"llamacpp:{equal_weight_gguf}", tmp_path, "--mode", mode)
    assert res.returncode == 0, res.stderr[-2000:]
    records = read_items(tmp_path)
    check_agreement(hf_reference[mode], records)  # >= 95%: what differs is float order only
    if mode == "choice":  # measured: 100/100 equal, log-probs at most 2.3e-3 from HF's
        ref = hf_reference[mode]
        pairs = [zip(r["logprobs"], ref[r["id"]]["logprobs"], strict=True) for r in records]
        gap = max(abs(a - b) for pair in pairs for a, b in pair)
        assert gap < 0.02, f"log-probs {gap:.4f} away from HF's on equal weights"
    summary = (tmp_path / "summary.json").read_text()
    assert '"backend": "llamacpp"' in summary and '"dtype": "F32"' in summary


@pytest.mark.needs_data
def test_bf16_head_scores_as_close_to_hf_as_the_shipped_head(hf_reference, tmp_path):
    """``head=bf16`` (the speed option) does not move answers further from HF's than Q8_0 does.

    Measured on these 100 JCM items: 93 equal to HF with the BF16 head, 91 with the shipped
    Q8_0 one; the 正/誤 margin moves 0.094 on average from HF's (0.124 with Q8_0).
    """

    def margin_error(records: list[dict]) -> float:
        ref = hf_reference["choice"]
        gaps = []
        for r in records:
            (a, b), (c, d) = r["logprobs"], ref[r["id"]]["logprobs"]
            gaps.append(abs((a - b) - (c - d)))
        return sum(gaps) / len(gaps)

    runs = {}
    for name, spec in (("q8", f"llamacpp:{MODEL}"), ("bf16", f"llamacpp:{MODEL}#head=bf16")):
        res = eval_cli(spec, tmp_path / name, "--mode", "choice")
        assert res.returncode == 0, res.stderr[-2000:]
        runs[name] = read_items(tmp_path / name)
    check_quantized_agreement(hf_reference["choice"], runs["bf16"])
    assert margin_error(runs["bf16"]) <= margin_error(runs["q8"]) + 0.02
    summary = (tmp_path / "bf16" / "summary.json").read_text()
    assert '"head": "bf16"' in summary and "-bf16-head.gguf" in summary


def test_choice_logprobs_are_log_probabilities(llama, gemma):
    """Multi-token choices sum per-token log-probs; on equal weights they are the HF values."""
    req = ChoiceRequest("The capital of France is", "", (" Paris", " London", " Paris, France"))
    got, ref = llama.choice_logprobs([req])[0], gemma.choice_logprobs([req])[0]
    assert all(v < 0 for v in got) and got[0] > got[1] and got[2] < got[0]
    # Measured: at most 1.2e-3 apart (float order and llama.cpp's f16 KV cache); the shipped
    # Q4_K_M file is 0.17 away (next test), so this bound tells the two apart.
    assert all(abs(a - b) < 0.01 for a, b in zip(got, ref, strict=True))
    # The prefix cache is reused across requests: a second identical call scores the same.
    again = llama.choice_logprobs([req, req])
    assert all(math.isclose(a, b, abs_tol=1e-4) for a, b in zip(again[1], got, strict=True))
    assert llama.work["tokens_reused"] > 0


def test_embedded_name_runs_the_shipped_quantized_file(gemma):
    """``llamacpp:gemma-3-270m`` loads the Q4_K_M file as shipped: close to HF, not equal."""
    from culturealign.models import load_model

    q4 = load_model(f"llamacpp:{MODEL}", threads=1)
    assert q4.info.dtype == "Q4_K_M"
    req = ChoiceRequest("The capital of France is", "", (" Paris", " London"))
    got, ref = q4.choice_logprobs([req])[0], gemma.choice_logprobs([req])[0]
    assert got[0] > got[1] and all(abs(a - b) < 1.0 for a, b in zip(got, ref, strict=True))


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
