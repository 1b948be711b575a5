"""Fixtures for the backend tests: HF reference runs of the real CLI on 100 JCM items.

The agreement tests compare another backend's per-item predictions with these. gemma-3-270m is
the model: a base model (plain prompts, no chat template to reproduce remotely). The HF backend
runs the fp32 weights de-quantized from the shipped Q4_K_M GGUF. The in-process llama.cpp tests
run an F32 GGUF of exactly those weights (``equal_weight_gguf``), so any difference is float
order, not quantization; the server tests serve the shipped Q4_K_M file, what a user runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

N_ITEMS = 100
MODEL = "gemma-3-270m"
# Issue 9 asks for >= 95% equal predictions; the in-process tests (equal weights) must meet it.
ISSUE_TARGET = 0.95
# The server serves the shipped Q4_K_M file. Measured on 100 JCM items (choice): 90 equal (f16
# KV cache) and 92 (f32 KV cache), identical token ids on both sides. The gap is llama.cpp's
# quantized arithmetic: its Q4_K/Q5_0/Q8_0 dot products quantize the activations to 8 bits, HF
# multiplies fp32 activations with the same weights de-quantized; the log-prob margin moves by
# 0.13 on average (max 0.43), and gemma-3-270m's JCM margins are small (median 0.31, 20 items
# under 0.1). With the F32 file llama.cpp agrees on >= 95 (equal_weight_gguf). So the quantized
# server tests require: at least QUANTIZED_MIN_SHARE equal, every differing item a near tie.
QUANTIZED_MIN_SHARE = 0.88
NEAR_TIE = 0.5  # |log p(誤) - log p(正)| under which quantization noise can flip the answer


@pytest.fixture(scope="session")
def equal_weight_gguf() -> Path:
    """The shipped Q4_K_M GGUF de-quantized to F32: the HF backend's weights, for llama.cpp.

    Built once per machine (about 25 s of CPU, 1.1 GB) in the culturealign cache (atomic write:
    a file there is complete), keyed by the shipped file's size and mtime.
    """
    from culturealign.models.embedded import EMBEDDED
    from culturealign.models.gguf_rewrite import cached_copy, dequantize_gguf

    shipped = EMBEDDED[MODEL].gguf_path()
    return cached_copy(shipped, "dequantized-f32", dequantize_gguf)


def read_items(out: Path) -> list[dict[str, Any]]:
    lines = (out / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def eval_cli(model: str, out: Path, *extra: str, env: dict[str, str] | None = None):
    return run_cli(
        "eval", "--model", model, "--task", "jcm", "--limit", str(N_ITEMS),
        "--threads", "1", "--out", str(out), *extra, env=env,
    )  # fmt: skip


@pytest.fixture(scope="session")
def hf_reference(tmp_path_factory) -> dict[str, dict[str, dict[str, Any]]]:
    """mode -> item id -> the HF backend's record (choice and greedy generate, 8 tokens)."""
    root = tmp_path_factory.mktemp("hf_reference")
    runs = {}
    for mode in ("choice", "generate"):
        res = eval_cli(MODEL, root / mode, "--mode", mode)
        assert res.returncode == 0, res.stderr[-2000:]
        runs[mode] = {r["id"]: r for r in read_items(root / mode)}
    return runs


def agreement(
    reference: dict[str, dict[str, Any]], records: list[dict[str, Any]]
) -> tuple[float, list[dict[str, Any]]]:
    """Share of items with the same prediction, and the differing items (for the message)."""
    assert sorted(r["id"] for r in records) == sorted(reference), "not the same items"
    differ = [r for r in records if r["prediction"] != reference[r["id"]]["prediction"]]
    return 1 - len(differ) / len(records), differ


def check_agreement(reference: dict[str, dict[str, Any]], records: list[dict[str, Any]]) -> float:
    """Equal weights: the issue's rule, >= 95% equal predictions. Returns the share."""
    share, differ = agreement(reference, records)
    print(f"agreement with HF (equal weights): {share:.2f} (issue target {ISSUE_TARGET})")
    assert share >= ISSUE_TARGET, describe(reference, differ)
    return share


def check_quantized_agreement(
    reference: dict[str, dict[str, Any]], records: list[dict[str, Any]]
) -> float:
    """Q4_K_M vs HF's de-quantized fp32: the quantization-aware rule above. Returns the share."""
    share, differ = agreement(reference, records)
    assert share >= QUANTIZED_MIN_SHARE, describe(reference, differ)
    for r in differ:
        ref = reference[r["id"]]
        if "logprobs" in ref:
            margin = abs(ref["logprobs"][1] - ref["logprobs"][0])
            assert margin < NEAR_TIE, f"{r['id']} differs with HF margin {margin:.3f}"
    print(f"agreement with HF (Q4_K_M): {share:.2f} (issue target {ISSUE_TARGET} on equal weights)")
    return share


def describe(reference: dict[str, dict[str, Any]], differ: list[dict[str, Any]]) -> str:
    rows = []
    for r in differ[:10]:
        ref = reference[r["id"]]
        got = r.get("logprobs", r.get("output"))
        want = ref.get("logprobs", ref.get("output"))
        rows.append(f"{r['id']}: {r['prediction']} vs hf {ref['prediction']} ({got!r} vs {want!r})")
    return "\n".join(rows)
