"""Typed training configs. Defaults are the published recipes; each field is documented once.

DPO defaults follow Jinnai (2024): 3 epochs, lr 1e-5, AdamW, batch 4, beta 0.1, LoRA r=64
alpha=16 on all linear layers. SFT defaults follow CultureBank / CultureSPA: LoRA r=8 alpha=16,
lr 1e-4, cosine schedule, 1 epoch. ``Field(description=...)`` is the single source of the CLI
help and of docs/alignment.md. Values resolve as: defaults < config file < CLI options < --set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from culturealign.errors import CultureAlignError

Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]


class LoraSettings(BaseModel):
    """LoRA adapter shape (PEFT ``LoraConfig``)."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(64, ge=1, description="LoRA rank.")
    alpha: int = Field(16, ge=1, description="LoRA alpha (scale = alpha / r).")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the LoRA input.")
    target_modules: str | list[str] = Field(
        "all-linear",
        description="Modules to adapt; 'all-linear' = every linear layer but the head.",
    )


class TrainCommon(BaseModel):
    """Fields every training recipe shares."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="Embedded model name, local folder or hub id.")
    out: Path = Field(description="Output folder: adapter, config, curves, checkpoints.")
    epochs: float = Field(3.0, gt=0, description="Passes over the data.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps.")
    learning_rate: float = Field(1e-5, gt=0, description="Peak AdamW learning rate.")
    batch_size: int = Field(4, ge=1, description="Examples per optimizer step (per device).")
    grad_accum: int = Field(1, ge=1, description="Micro-batches accumulated per optimizer step.")
    scheduler: Scheduler = Field("linear", description="Learning-rate schedule.")
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="Share of steps spent warming up.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA adapter shape.")
    seed: int = Field(42, description="Seed for LoRA init and data order.")
    limit: int | None = Field(None, ge=1, description="Use only the first N training rows.")
    max_length: int = Field(1024, ge=8, description="Longest prompt+completion in tokens.")
    save_every: int = Field(50, ge=1, description="Checkpoint every N optimizer steps.")
    keep_checkpoints: int = Field(2, ge=1, description="Checkpoints kept on disk.")
    device: str | None = Field(None, description="cpu or cuda[:n]; default cuda when present.")
    threads: int | None = Field(None, ge=1, description="CPU threads; default the free cores.")


class DPOConfig(TrainCommon):
    """Direct Preference Optimization with a LoRA adapter."""

    prefs: Path = Field(description="Preference JSONL (prompt/chosen/rejected).")
    beta: float = Field(0.1, gt=0, description="DPO beta (strength of the KL anchor).")
    backend: Literal["auto", "fast", "trl"] = Field(
        "auto",
        description="fast = shared-prompt path for short completions; trl = TRL DPOTrainer; "
        "auto = fast when every completion is at most fast_max_completion tokens.",
    )
    fast_max_completion: int = Field(
        8, ge=1, description="Longest completion (tokens) the fast path takes under auto."
    )
    append_eos: bool = Field(
        True, description="End completions with EOS, as TRL does for plain-text prompts."
    )


class SFTConfig(TrainCommon):
    """Supervised fine-tuning with a LoRA adapter (CultureBank / CultureSPA recipes)."""

    data: Path = Field(description="SFT JSONL: prompt/completion, messages, or text rows.")
    epochs: float = Field(1.0, gt=0, description="Passes over the data.")
    learning_rate: float = Field(1e-4, gt=0, description="Peak AdamW learning rate.")
    scheduler: Scheduler = Field("cosine", description="Learning-rate schedule.")
    lora: LoraSettings = Field(
        default_factory=lambda: LoraSettings(r=8, alpha=16), description="LoRA adapter shape."
    )
    completion_only_loss: bool = Field(
        True, description="prompt/completion rows: train on the completion tokens only."
    )


C = TypeVar("C", bound=TrainCommon)


def resolve_config(
    cls: type[C],
    file: Path | None = None,
    options: dict[str, Any] | None = None,
    sets: dict[str, str] | None = None,
) -> C:
    """Merge defaults < config file < explicit options < ``key=value`` sets, then validate."""
    merged: dict[str, Any] = read_config_file(file) if file else {}
    for key, value in (options or {}).items():
        if value is not None:
            _assign(merged, key, value)
    for key, raw in (sets or {}).items():
        _assign(merged, key, yaml.safe_load(raw) if raw else raw)
    try:
        return cls.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise CultureAlignError(
            f"invalid {cls.__name__}: {problems}",
            "see `culturealign train --help` or docs/alignment.md for the fields",
        ) from exc


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CultureAlignError(f"config file not found: {path}", "check the --config path")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CultureAlignError(f"{path} is not valid YAML/JSON: {exc}", "fix the file") from exc
    if not isinstance(data, dict):
        raise CultureAlignError(f"{path} must hold a mapping of field: value", "fix the file")
    return data


def _assign(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b`` inside nested dicts, so ``--set lora.r=16`` reaches the LoRA block."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = target.setdefault(part, {})
        if not isinstance(node, dict):
            raise CultureAlignError(f"cannot set {dotted}: {part} is not a group", "check the key")
        target = node
    target[leaf] = value


def describe(cls: type[BaseModel], name: str) -> str:
    """CLI help for a field, taken from its one description, with the default shown."""
    field = cls.model_fields[name]
    default = field.get_default(call_default_factory=True)
    shown = "" if field.is_required() or isinstance(default, BaseModel) else f" [{default}]"
    return f"{field.description or ''}{shown}"
