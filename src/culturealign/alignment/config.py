"""Typed training configs. Each field is documented once, with where its default comes from.

A default is either stated by a study or our choice, and each description says which:

- DPO, stated by Jinnai (2024): 3 epochs, lr 1e-5, batch 4, beta 0.1, LoRA r=64 alpha=16.
  Our choice (the paper does not state them): LoRA on all linear layers, LoRA dropout 0, linear
  schedule, no warm-up, weight decay 0, gradient clipping at 1.0 (transformers' defaults).
- SFT, stated by CultureSPA's released LLaMA-Factory config: LoRA on all linear layers, lr 1e-4,
  cosine schedule, 1 epoch, batch 4 per device; its r=8, alpha=16, dropout 0 are LLaMA-Factory's
  defaults, which that config leaves in place. CultureBank's recipe (LoRA on q,v, dropout 0.05,
  weight decay 0.05, ...) is configs/sft_culturebank.yaml.

``Field(description=...)`` is the single source of the CLI help and of docs/alignment.md.
Values resolve as: defaults < config file < CLI options < --set.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from culturealign.errors import CultureAlignError

Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]

# Provenance of a default, appended to its description (and so to the CLI help).
_PAPER = "Default stated by Jinnai (2024)."
_OURS = "Default: our choice; Jinnai (2024) does not state it."
_OURS_HF = "Default: our choice (transformers' default); Jinnai (2024) does not state it."
_SPA = "Default stated by CultureSPA's released config."
_SPA_HF = "Default: transformers' default, which CultureSPA's released config leaves in place."


class LoraSettings(BaseModel):
    """LoRA adapter shape (PEFT ``LoraConfig``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    r: int = Field(64, ge=1, description="LoRA rank. DPO: 64, stated by Jinnai (2024).")
    alpha: int = Field(
        16, ge=1, description="LoRA alpha (scale = alpha / r). DPO: 16, stated by Jinnai (2024)."
    )
    dropout: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Dropout on the LoRA input. "
        "DPO: 0, our choice (Jinnai 2024 does not state it).",
    )
    target_modules: str | list[str] = Field(
        "all-linear",
        description="Modules to adapt; 'all-linear' = every linear layer but the head. "
        "DPO: all-linear, our choice (Jinnai 2024 does not state it).",
    )


class TrainCommon(BaseModel):
    """Fields every training recipe shares. Frozen: resolved once, then only read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Old field name -> new one; still accepted, with a deprecation message.
    RENAMED: ClassVar[dict[str, str]] = {}

    model: str = Field(description="Embedded model name, local folder or hub id.")
    out: Path = Field(description="Output folder: adapter, config, curves, checkpoints.")
    epochs: float = Field(3.0, gt=0, description=f"Passes over the data. {_PAPER}")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps.")
    learning_rate: float = Field(1e-5, gt=0, description=f"Peak AdamW learning rate. {_PAPER}")
    batch_size: int = Field(4, ge=1, description=f"Examples per micro-batch (per device). {_PAPER}")
    grad_accum: int = Field(
        1, ge=1, description=f"Micro-batches accumulated per optimizer step. {_OURS}"
    )
    scheduler: Scheduler = Field("linear", description=f"Learning-rate schedule. {_OURS_HF}")
    warmup_ratio: float = Field(
        0.0, ge=0, lt=1, description=f"Share of steps spent warming up. {_OURS}"
    )
    weight_decay: float = Field(0.0, ge=0, description=f"AdamW weight decay. {_OURS_HF}")
    max_grad_norm: float = Field(1.0, gt=0, description=f"Gradient clipping norm. {_OURS_HF}")
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

    RENAMED: ClassVar[dict[str, str]] = {"backend": "engine"}

    prefs: Path = Field(description="Preference JSONL (prompt/chosen/rejected).")
    beta: float = Field(0.1, gt=0, description=f"DPO beta (strength of the KL anchor). {_PAPER}")
    engine: Literal["auto", "fast", "trl"] = Field(
        "auto",
        description="DPO engine: fast = shared-prompt path for short completions; "
        "trl = TRL DPOTrainer; auto = fast when every completion is at most "
        "fast_max_completion tokens. (Formerly 'backend'.)",
    )
    fast_max_completion: int = Field(
        8, ge=1, description="Longest completion (tokens) the fast path takes under auto."
    )
    append_eos: bool = Field(
        True, description="End completions with EOS, as TRL does for plain-text prompts."
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed_backend(cls, data: Any) -> Any:
        """Accept the old ``backend`` key when built directly (resolve_config renames it first)."""
        if isinstance(data, dict) and "backend" in data:
            if "engine" in data and data["engine"] != data["backend"]:
                raise ValueError("'backend' is the old name of 'engine'; give only 'engine'")
            warnings.warn(DEPRECATED_BACKEND, FutureWarning, stacklevel=2)
            data = {("engine" if k == "backend" else k): v for k, v in data.items()}
        return data

    @model_serializer(mode="wrap")
    def _stored_as_backend(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Written under its old name ``backend``, in place, so that training_config.json,
        the manifest and the experiment stage keys (hashes of this dump) stay the same."""
        return {("backend" if k == "engine" else k): v for k, v in handler(self).items()}


DEPRECATED_BACKEND = (
    "the DPO setting 'backend' is now called 'engine' (fast|trl|auto); "
    "'backend' still works but will be removed"
)


class SFTConfig(TrainCommon):
    """Supervised fine-tuning with a LoRA adapter (CultureSPA's recipe; CultureBank's in configs/).

    CultureSPA's released config also sets warm-up 0.1 and 32 accumulation steps; the defaults
    keep 0 and 1 (our choice, for small runs); configs/sft_culturespa.yaml has the full recipe.
    """

    data: Path = Field(description="SFT JSONL: prompt/completion, messages, or text rows.")
    epochs: float = Field(1.0, gt=0, description=f"Passes over the data. {_SPA}")
    learning_rate: float = Field(1e-4, gt=0, description=f"Peak AdamW learning rate. {_SPA}")
    batch_size: int = Field(4, ge=1, description=f"Examples per micro-batch (per device). {_SPA}")
    grad_accum: int = Field(
        1,
        ge=1,
        description="Micro-batches accumulated per optimizer step. Default: our choice, for "
        "small runs; CultureSPA's config uses 32 (configs/sft_culturespa.yaml).",
    )
    warmup_ratio: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Share of steps spent warming up. Default: our choice, for small runs; "
        "CultureSPA's config uses 0.1 (configs/sft_culturespa.yaml).",
    )
    weight_decay: float = Field(0.0, ge=0, description=f"AdamW weight decay. {_SPA_HF}")
    max_grad_norm: float = Field(1.0, gt=0, description=f"Gradient clipping norm. {_SPA_HF}")
    scheduler: Scheduler = Field("cosine", description=f"Learning-rate schedule. {_SPA}")
    lora: LoraSettings = Field(
        default_factory=lambda: LoraSettings(r=8, alpha=16),
        description="LoRA adapter shape. r=8, alpha=16, dropout 0, all-linear: CultureSPA's "
        "config (r, alpha, dropout are the LLaMA-Factory defaults it leaves in place).",
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
    merged: dict[str, Any] = {}
    for key, value in (read_config_file(file) if file else {}).items():
        _assign(merged, _new_name(cls, key), value)
    for key, value in (options or {}).items():
        if value is not None:
            _assign(merged, _new_name(cls, key), value)
    for key, raw in (sets or {}).items():
        _assign(merged, _new_name(cls, key), yaml.safe_load(raw) if raw else raw)
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


def _new_name(cls: type[TrainCommon], key: str) -> str:
    """A renamed field's new name (warning once per use), so later layers still override."""
    if key not in cls.RENAMED:
        return key
    warnings.warn(
        f"config key {key!r} is now called {cls.RENAMED[key]!r}; {key!r} will be removed",
        FutureWarning,
        stacklevel=3,
    )
    return cls.RENAMED[key]


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
