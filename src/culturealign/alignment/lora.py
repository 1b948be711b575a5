"""PEFT/LoRA helpers: the one module that touches PEFT's API (pinned in pyproject: peft<1).

When PEFT renames something, only this file changes. TRL trainer construction lives in
:mod:`culturealign.alignment.trl_trainers`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from culturealign.alignment.config import LoraSettings
from culturealign.library_warnings import quiet_library_deprecations


def lora_config(lora: LoraSettings) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )


def wrap_lora(model: Any, lora: LoraSettings) -> Any:
    """A new trainable LoRA adapter over a frozen ``model``."""
    from peft import get_peft_model

    with quiet_library_deprecations():
        return get_peft_model(model, lora_config(lora))


def disable_dropout(model: Any) -> None:
    """DPO log-ratios must be deterministic, so dropout is off (TRL's ``disable_dropout``)."""
    from trl.trainer.utils import disable_dropout_in_model

    disable_dropout_in_model(model)


def adapter_state(model: Any) -> dict[str, Any]:
    from peft import get_peft_model_state_dict

    return get_peft_model_state_dict(model)


def load_adapter_state(model: Any, state: dict[str, Any]) -> None:
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(model, state)
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise RuntimeError(f"checkpoint has unexpected adapter weights: {unexpected[:3]}")


def load_adapter(model: Any, adapter: Path) -> Any:
    from peft import PeftModel

    with quiet_library_deprecations():
        return PeftModel.from_pretrained(model, str(adapter))
