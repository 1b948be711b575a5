"""The DPO throughput benchmark's measuring pieces: FLOP counter and shared LoRA start."""

import functools
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from culturealign.alignment import lora
from culturealign.alignment.config import LoraSettings
from tests.alignment.conftest import tiny_model

pytestmark = pytest.mark.integration  # the embedded models' architectures and tokenizers

MODELS = ["gemma-3-270m", "smollm2-135m-instruct"]
ROWS, LENGTH = 2, 12


@functools.cache
def _bench():
    """benchmarks/ is not a package: load the script as a module (dataclasses need it listed)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "dpo_throughput.py"
    spec = importlib.util.spec_from_file_location("dpo_throughput", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _expected_forward(model, tokens: int, head_positions: int) -> tuple[int, int]:
    """Hand count of a forward: every linear layer, both attention matmuls, the LM head."""
    text = model.config.get_text_config()
    head = model.get_output_embeddings()
    body = sum(
        2 * m.in_features * m.out_features * tokens
        for m in model.modules()
        if isinstance(m, torch.nn.Linear) and m is not head
    )
    heads, dim = text.num_attention_heads, text.head_dim
    attention = text.num_hidden_layers * 2 * (2 * ROWS * heads * LENGTH * LENGTH * dim)
    head_flops = 2 * text.hidden_size * text.vocab_size * head_positions
    return body + attention + head_flops, head_flops


def _batch():
    ids = torch.randint(0, 1000, (ROWS, LENGTH))
    mask = torch.ones_like(ids)
    mask[1, -3:] = 0  # a padded row: the CPU attention kernel then gets a mask
    return ids, mask


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("keep", [0, 1])
def test_counter_counts_attention_and_head_positions(name, keep):
    model, _ = tiny_model(name)
    ids, mask = _batch()
    counter = _bench().flop_counter(_bench().head_weight(model))
    with counter, torch.no_grad():
        model(input_ids=ids, attention_mask=mask, logits_to_keep=keep)
    positions = ROWS * (keep or LENGTH)
    assert (counter.total, counter.head_total) == _expected_forward(model, ROWS * LENGTH, positions)


@pytest.mark.parametrize("name", MODELS)
def test_trl_fused_head_scores_every_position_on_cpu(name):
    """Why TRL's head FLOPs are counted at all positions here, not only at the labelled ones."""
    from trl.trainer.utils import add_fused_lm_head

    model, _ = tiny_model(name)
    add_fused_lm_head(model)
    ids, mask = _batch()
    labels = torch.full_like(ids, -100)
    labels[:, -2:] = ids[:, -2:]  # a two-token completion
    counter = _bench().flop_counter(_bench().head_weight(model))
    with counter, torch.no_grad():
        model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
    text = model.config.get_text_config()
    assert counter.head_total == 2 * text.hidden_size * text.vocab_size * ROWS * (LENGTH - 1)


def test_initial_lora_is_the_same_whatever_the_rng_state():
    states = []
    for seed in (1, 2):
        model, _ = tiny_model("smollm2-135m-instruct")
        torch.manual_seed(seed)  # PEFT draws lora_A from the global RNG
        model = lora.wrap_lora(model, LoraSettings(r=4, alpha=8))
        _bench().set_initial_lora(model)
        states.append(lora.adapter_state(model))
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert all(states[0][k].abs().sum() > 0 for k in states[0] if "lora_B" in k)
