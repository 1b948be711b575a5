"""Small transformers/torch compatibility helpers shared by evaluation and training.

Each answers one question the installed transformers version or model family answers in its
own way. They were copied in models/hf.py, alignment/fast_dpo.py and the training recipes;
they live here so a version change is handled once.
"""

from __future__ import annotations

import inspect
import os
from typing import Any


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS has no sched_getaffinity
        return os.cpu_count() or 1


def base_model(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (the model itself when unwrapped)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def cache_keyword(model: Any) -> str:
    """The forward() keyword for a KV cache: ``cache`` where transformers renamed
    ``past_key_values`` (some 5.x models), else ``past_key_values``."""
    params = inspect.signature(base_model(model).forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def special_start_ids(tokenizer: Any) -> list[int]:
    """The special tokens the tokenizer puts before any text (usually BOS, sometimes none)."""
    with_special: list[int] = tokenizer("a")["input_ids"]
    plain: list[int] = tokenizer("a", add_special_tokens=False)["input_ids"]
    if with_special[-len(plain) :] == plain:
        return with_special[: len(with_special) - len(plain)]
    return []


def sliding_window(model: Any) -> int | None:
    """The attention window of the model's sliding-window layers; None if it has none."""
    config = base_model(model).config.get_text_config()
    window = getattr(config, "sliding_window", None)
    types = getattr(config, "layer_types", None)
    if window is None or (types is not None and "sliding_attention" not in types):
        return None
    return int(window)
