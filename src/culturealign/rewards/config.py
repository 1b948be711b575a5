"""``train rm`` settings (torch-free, so the CLI's help stays fast)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from culturealign.alignment.config import LoraSettings, TrainCommon

_OURS = "Default: our choice (no study trains this model)."


class RMConfig(TrainCommon):
    """Reward-model training: every default is our choice, tuned to fit 30 min on 2 CPU cores."""

    pairs: Path | None = Field(
        None,
        description="Pair JSONL (chosen, rejected, optional prompt); default JCM train "
        "minimal pairs.",
    )
    epochs: float = Field(1.0, gt=0, description=f"Passes over the pairs. {_OURS}")
    learning_rate: float = Field(2e-4, gt=0, description=f"Peak AdamW learning rate. {_OURS}")
    batch_size: int = Field(16, ge=1, description=f"Pairs per micro-batch. {_OURS}")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description=f"Warm-up share. {_OURS}")
    max_length: int = Field(128, ge=8, description=f"Longest text in tokens. {_OURS}")
    save_every: int = Field(25, ge=1, description="Checkpoint every N optimizer steps.")
    lora: LoraSettings = Field(
        default_factory=lambda: LoraSettings(r=16, alpha=32),
        description=f"LoRA shape: r=16, alpha=32, all linear layers. {_OURS}",
    )
    append_eos: bool = Field(True, description="End each text with EOS, as TRL does.")
    max_minutes: float | None = Field(
        None,
        gt=0,
        description="Wall-clock budget: stop after the step that passes it and save the model "
        "(resumed runs count only their own time). Pair with a constant schedule.",
    )
    lora_layers: int | None = Field(
        6,
        ge=1,
        description="LoRA only on the last N decoder layers (None: all); the layers below get "
        f"no backward pass, which cuts a CPU step by about half. {_OURS}",
    )
