"""Builders shared by the training recipes: run folder, model + tokenizer, manifest.

Recipes share these functions, never a base class; each recipe still reads top to bottom.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from culturealign.alignment.config import TrainCommon
from culturealign.alignment.fast_trainer import CHECKPOINTS
from culturealign.errors import CultureAlignError
from culturealign.paths import ensure_writable_dir, write_json_atomic

CONFIG_FILE = "training_config.json"
MANIFEST_FILE = "training_manifest.json"
# Fields that may change between a killed run and its resume without changing the result.
RUNTIME_FIELDS = {"device", "threads", "save_every", "keep_checkpoints"}


def prepare_out(cfg: TrainCommon, resume: bool, write: bool = True) -> None:
    """Create ``cfg.out``; refuse to mix runs: a resume must use the saved config.

    Every training process checks; only rank 0 (``write``) writes the config."""
    ensure_writable_dir(cfg.out)
    saved_path = cfg.out / CONFIG_FILE
    if resume:
        if not saved_path.is_file():
            raise CultureAlignError(
                f"nothing to resume in {cfg.out} (no {CONFIG_FILE})", "drop --resume"
            )
        saved = json.loads(saved_path.read_text(encoding="utf-8"))
        current = json.loads(cfg.model_dump_json())
        changed = sorted(
            k for k in current if k not in RUNTIME_FIELDS and saved.get(k) != current[k]
        )
        if changed:
            raise CultureAlignError(
                f"--resume with a different config: {changed} differ from {saved_path}",
                "resume with the same settings, or train into a new --out",
            )
    elif _has_checkpoints(cfg.out) or (cfg.out / "adapter_config.json").exists():
        raise CultureAlignError(
            f"{cfg.out} already holds a training run",
            "pass --resume to continue it, or choose another --out",
        )
    if write:
        write_json_atomic(saved_path, json.loads(cfg.model_dump_json()))


def _has_checkpoints(out: Path) -> bool:
    """Any engine's checkpoint, complete or not: both write under ``out/checkpoints``."""
    folder = out / CHECKPOINTS
    return folder.is_dir() and any(folder.iterdir())


def model_source(name: str) -> str:
    """An embedded model's converted folder, else the local path or hub id as given."""
    from culturealign.models.embedded import EMBEDDED, ensure_converted
    from culturealign.models.registry import split_options

    if options := split_options(name)[1]:
        raise CultureAlignError(
            f"training takes a plain model, not {name!r}",
            f"drop '#{options}': options after # apply to evaluation and generation; "
            "training runs fp32 on CPU, bf16 on CUDA",
        )
    return str(ensure_converted(name)) if name in EMBEDDED else name


def load_base(cfg: TrainCommon, trust_remote_code: bool = False) -> tuple[Any, Any, str]:
    """Base model (fp32 on CPU, bf16 on CUDA) and tokenizer; returns (model, tokenizer, device)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from culturealign.models.compat import available_cores

    torch.set_num_threads(cfg.threads or available_cores())
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and "LOCAL_RANK" in os.environ:  # one GPU per launched process
        device = f"cuda:{os.environ['LOCAL_RANK']}"
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    source = model_source(cfg.model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            source, dtype=dtype, use_safetensors=True, trust_remote_code=trust_remote_code
        )
    except OSError as exc:
        raise CultureAlignError(
            f"cannot load model {cfg.model!r}: {exc}",
            "pass an embedded name (`culturealign models`), a local folder or a hub id",
        ) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device), tokenizer, device


def write_manifest(cfg: TrainCommon, extra: dict[str, Any]) -> None:
    from culturealign.provenance import environment

    manifest = {
        "config": json.loads(cfg.model_dump_json()),
        "environment": environment(),
        **extra,
    }
    write_json_atomic(cfg.out / MANIFEST_FILE, manifest)
