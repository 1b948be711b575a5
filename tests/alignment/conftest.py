"""Tiny random models with the real embedded tokenizers: the alignment maths at unit-test cost."""

from __future__ import annotations

import pytest
import torch


def tiny_model(name: str, seed: int = 0):
    """A 2-layer random model of ``name``'s architecture, with its real tokenizer."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from culturealign.models.embedded import ensure_converted

    path = ensure_converted(name)
    config = AutoConfig.from_pretrained(path)
    text = config.get_text_config()
    for key, value in dict(
        num_hidden_layers=2,
        hidden_size=64,
        intermediate_size=128,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
    ).items():
        setattr(text, key, value)
    if getattr(text, "layer_types", None):
        text.layer_types = text.layer_types[:2]
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def perturb_lora(model, seed: int = 1, std: float = 0.5) -> None:
    """LoRA B starts at zero (policy == reference, zero A-gradients); move it so tests bite."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * std)


@pytest.fixture(scope="session")
def jcm_pairs():
    from culturealign.alignment.prefs import pairs_from_judgements
    from culturealign.data.judgements import load_jcm

    return pairs_from_judgements(load_jcm("train").head(16))
