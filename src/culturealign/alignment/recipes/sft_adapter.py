"""One LoRA SFT adapter as a pipeline stage (CultureSPA step 4, CultureBank's two stages).

``settings`` are :class:`~culturealign.alignment.config.SFTConfig` fields over its defaults;
training goes through the project's SFT recipe (TRL SFTTrainer). A killed training resumes
from its last checkpoint; a finished adapter in the folder is not trained again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from culturealign.alignment.config import SFTConfig, resolve_config
from culturealign.alignment.recipes.common import CONFIG_FILE, MANIFEST_FILE


def sft_config(model: str, data: Path, out: Path, settings: dict[str, Any]) -> SFTConfig:
    """The SFT config of one adapter: spec settings over SFTConfig's defaults."""
    return resolve_config(SFTConfig, options={**settings, "model": model, "data": data, "out": out})


def train_adapter(cfg: SFTConfig, console: Any = None) -> dict[str, Any]:
    """Train (or finish training) the adapter described by ``cfg``."""
    import json

    from culturealign.alignment.recipes import sft_lora

    manifest = cfg.out / MANIFEST_FILE
    if manifest.is_file() and (cfg.out / "adapter_config.json").is_file():
        summary: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))["summary"]
        return summary
    resume = (cfg.out / CONFIG_FILE).is_file()
    return sft_lora.run(cfg, resume=resume, console=console)
