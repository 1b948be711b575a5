"""Alignment: preference/SFT data builders and DPO/SFT training with LoRA (TRL/PEFT + fast path).

Importing this package does not import torch; the training modules import it when used.
"""

from culturealign.alignment.config import DPOConfig, LoraSettings, SFTConfig, resolve_config
from culturealign.alignment.prefs import (
    PreferencePair,
    pairs_from_judgements,
    read_pairs,
    write_pairs,
)

__all__ = [
    "DPOConfig",
    "LoraSettings",
    "PreferencePair",
    "SFTConfig",
    "pairs_from_judgements",
    "read_pairs",
    "resolve_config",
    "write_pairs",
]
