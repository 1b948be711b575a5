"""Build a model from a name: embedded default, local folder, or hub id, on a named backend.

Backends load lazily, so ``import culturealign`` never imports torch. Adding a backend is a
module in this package plus one entry in ``BACKENDS``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError
from culturealign.models.base import LanguageModel
from culturealign.models.embedded import EMBEDDED, converted_dir, ensure_converted

Loader = Callable[..., LanguageModel]  # load_<backend>(path_or_spec, name, **options)

# backend name -> (module, loader function, pip extra that provides its dependencies)
BACKENDS: dict[str, tuple[str, str, str | None]] = {
    "hf": ("culturealign.models.hf", "load_hf", None),
    "openai": ("culturealign.models.openai_http", "load_openai", "openai"),
    "llamacpp": ("culturealign.models.llamacpp", "load_llamacpp", "llamacpp"),
}
# Backends named by a prefix of the model string (``openai:<model>@<url>``, ``llamacpp:<gguf>``):
# the rest is their own spec, so every command that takes --model reaches them unchanged.
PREFIXED = ("openai", "llamacpp")
# Options an HF model string may carry after ``#`` (``gemma-3-270m#dtype=bfloat16``), for the
# same reason: every command that takes --model gets them without a flag of its own.
HF_DTYPES = ("float32", "bfloat16", "float16")


def load_model(
    model: str,
    backend: str = "hf",
    adapter: str | Path | None = None,
    **options: Any,
) -> LanguageModel:
    """Load ``model`` (an embedded name, a local path or a hub id) with an optional adapter."""
    prefix, colon, spec = model.partition(":")
    if colon and prefix in PREFIXED:
        return _import_loader(prefix)(spec, model, adapter=adapter, **options)
    # Requests in flight mean something to HTTP backends only; in-process ones batch themselves.
    options.pop("concurrency", None)
    label = model
    if backend == "hf":
        model, options = _split_hf_options(model, options)
    if backend not in BACKENDS:
        raise CultureAlignError(
            f"unknown backend {backend!r}", f"choose one of: {', '.join(sorted(BACKENDS))}"
        )
    if adapter is not None and not (Path(adapter) / "adapter_config.json").is_file():
        raise CultureAlignError(
            f"adapter not found: {adapter} has no adapter_config.json",
            "pass the folder written by `culturealign train` (--adapter)",
        )
    loader = _import_loader(backend)
    if model in EMBEDDED:
        lm = _load_embedded(loader, model, adapter, options)
    else:
        lm = _load_other(loader, model, adapter, options)
    lm.info.name = label  # a #dtype= variant keeps its name in summaries, tables and caches
    return lm


def model_slug(model: str) -> str:
    """A folder-name form of a model string: ``openai:org/m@http://host/v1#api=chat`` ->
    ``openai-m-api=chat`` (backend, last path part, options; never the server's URL)."""
    prefix, colon, rest = model.partition(":")
    if not (colon and prefix in PREFIXED):
        prefix, rest = "", model
    name, _, opts = rest.partition("#")
    base = name.split("@")[0].rstrip("/").split("/")[-1]
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", "-".join(p for p in (prefix, base, opts) if p))


def split_options(model: str) -> tuple[str, str]:
    """``name#opts`` -> (``name``, ``opts``); ``opts`` is empty for an existing path with a '#'."""
    if "#" not in model or Path(model).expanduser().exists():
        return model, ""
    name, _, opts = model.partition("#")
    return name, opts


def _split_hf_options(model: str, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``name#dtype=bfloat16`` -> (``name``, options + dtype); a clash with options is an error."""
    name, spec = split_options(model)
    merged = dict(options)
    for pair in filter(None, spec.split(",")):
        key, _, value = pair.partition("=")
        if key != "dtype" or value not in HF_DTYPES:
            raise CultureAlignError(
                f"bad option {pair!r} in {model!r}",
                f"the hf backend takes #dtype=<{'|'.join(HF_DTYPES)}>",
            )
        if merged.get("dtype") not in (None, value):
            raise CultureAlignError(
                f"{model!r} asks for dtype {value} but the config gives {merged['dtype']}",
                "set the dtype in one place",
            )
        merged["dtype"] = value
    return name, merged


def _import_loader(backend: str) -> Loader:
    module_name, fn_name, extra = BACKENDS[backend]
    try:
        loader: Loader = getattr(importlib.import_module(module_name), fn_name)
        return loader
    except ImportError as exc:
        hint = f"pip install 'culturealign[{extra}]'" if extra else "reinstall culturealign"
        raise CultureAlignError(f"backend {backend!r} cannot be imported: {exc}", hint) from exc


def _load_embedded(
    loader: Loader, name: str, adapter: str | Path | None, options: dict[str, Any]
) -> LanguageModel:
    path = ensure_converted(name)
    try:
        return loader(path, name, chat=EMBEDDED[name].chat, adapter=adapter, **options)
    except Exception as exc:  # safetensors, torch and json each raise their own types
        raise CultureAlignError(
            f"the cached copy of {name} at {converted_dir(name)} is corrupt ({type(exc).__name__})",
            f"rebuild it: culturealign models --rebuild {name}",
        ) from exc


def _load_other(
    loader: Loader, model: str, adapter: str | Path | None, options: dict[str, Any]
) -> LanguageModel:
    path = Path(model).expanduser()
    looks_local = path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1
    if looks_local and not (path / "config.json").is_file():
        raise CultureAlignError(
            f"model folder not found or incomplete: {model} (no config.json)",
            "give a folder with a transformers model, a hub id, or one of: " + ", ".join(EMBEDDED),
        )
    try:
        return loader(str(path) if looks_local else model, model, adapter=adapter, **options)
    except OSError as exc:
        raise CultureAlignError(
            f"unknown model {model!r}: not an embedded model, not a local folder, "
            f"and the hub could not provide it ({str(exc).splitlines()[0]})",
            f"use one of: {', '.join(EMBEDDED)} (see `culturealign models`), a local folder, "
            "or a hub id with network access",
        ) from exc
