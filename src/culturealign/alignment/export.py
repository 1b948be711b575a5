"""Merge a LoRA adapter into its base model and save plain safetensors weights.

The merged folder is an ordinary transformers model: every command that takes ``--model``
(evaluation included) accepts it, and it needs no PEFT at inference time.
"""

from __future__ import annotations

import json
from pathlib import Path

from culturealign.errors import CultureAlignError
from culturealign.paths import write_json_atomic


def merge_adapter(model: str, adapter: Path, out: Path, dtype: str = "float32") -> Path:
    """Load ``model`` + ``adapter``, merge the LoRA weights, save model and tokenizer to ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from culturealign.alignment.lora import load_adapter
    from culturealign.alignment.recipes.common import model_source
    from culturealign.provenance import environment

    if not (adapter / "adapter_config.json").is_file():
        raise CultureAlignError(
            f"adapter not found: {adapter} has no adapter_config.json",
            "pass the folder written by `culturealign train`",
        )
    if out.exists() and any(out.iterdir()):
        raise CultureAlignError(f"{out} is not empty", "choose a new --out folder")
    source = model_source(model)
    base = AutoModelForCausalLM.from_pretrained(
        source, dtype=getattr(torch, dtype), use_safetensors=True
    )
    merged = load_adapter(base, adapter).merge_and_unload()
    tmp = out.with_name(f".{out.name}.partial")
    merged.save_pretrained(str(tmp), safe_serialization=True)
    AutoTokenizer.from_pretrained(source).save_pretrained(str(tmp))
    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    write_json_atomic(
        tmp / "merge_manifest.json",
        {"base": model, "base_path": source, "adapter": str(adapter), "lora": config}
        | {"environment": environment()},
    )
    if out.exists():
        out.rmdir()
    tmp.rename(out)
    return out
