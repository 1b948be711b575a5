"""``culturealign prefs|train|export``: preference data, DPO/SFT with LoRA, merged weights.

Option help comes from the config fields' descriptions (one source). Options left unset keep
the config file's value, then the recipe default; ``--set key=value`` reaches every field
(``--set lora.dropout=0.05``). Registered in cli/__init__.py with ``app.add_typer``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from culturealign.alignment.config import (
    C,
    DPOConfig,
    LoraSettings,
    SFTConfig,
    TrainCommon,
    describe,
)
from culturealign.errors import CultureAlignError

console = Console(stderr=True)
out_console = Console()

prefs_app = typer.Typer(help="Build preference data.", no_args_is_help=True)
train_app = typer.Typer(help="Train a LoRA adapter (DPO or SFT).", no_args_is_help=True)

D, S, L = DPOConfig, SFTConfig, LoraSettings
SFT_LORA = "Default: CultureSPA's config (LLaMA-Factory's default, which it leaves in place)."


@prefs_app.command("from-labels")
def from_labels(
    out: Annotated[Path, typer.Option(help="Output JSONL (prompt/chosen/rejected).")],
    dataset: Annotated[str, typer.Option(help="jcm, ethics, or file (needs --path).")] = "jcm",
    split: Annotated[
        str,
        typer.Option(
            help="Split (jcm: train/val/test; ethics: train, all lengths, downloaded; "
            "test_hard, the offline stand-in)."
        ),
    ] = "train",
    limit: Annotated[int | None, typer.Option(help="Use only the first N items.")] = None,
    path: Annotated[Path | None, typer.Option(help="Data file (dataset 'file') or folder.")] = None,
    text_column: Annotated[str, typer.Option(help="Text column of a file.")] = "text",
    label_column: Annotated[str, typer.Option(help="Label column of a file.")] = "label",
    label_values: Annotated[
        str | None, typer.Option(help="Raw label to 1 (wrong)/0, e.g. 'wrong=1,ok=0'.")
    ] = None,
    language: Annotated[str, typer.Option(help="Language of a file's text (ja/en).")] = "en",
    prompt_language: Annotated[
        str | None,
        typer.Option(help="Prompt language (default: ja for jcm/ethics as in the study)."),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Render with this model's chat template, if it has one.")
    ] = None,
    chat: Annotated[
        bool | None, typer.Option("--chat/--no-chat", help="Force the chat template on/off.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
) -> None:
    """Pairs from labelled judgements: prompt = zero-shot eval prompt, chosen = the gold answer."""
    from culturealign.alignment.prefs import pairs_from_judgements, write_pairs

    data = _judgements(dataset, split, path, text_column, label_column, label_values, language)
    data = data.head(limit)
    lang = prompt_language or ("ja" if dataset in ("jcm", "ethics") else data.language)
    if lang not in ("ja", "en"):
        raise CultureAlignError(f"unknown prompt language {lang!r}", "use ja or en")
    render = None
    if model is not None and chat is not False:
        from culturealign.models import load_model

        loaded = load_model(model)
        if loaded.is_chat or chat:
            render = loaded.render_chat
    elif chat:
        raise CultureAlignError("--chat needs --model (whose template to use)", "add --model")
    pairs = pairs_from_judgements(data, lang, chat=render, chat_name=model, system=system)
    n = write_pairs(out, pairs)
    out_console.print(f"wrote {n} pairs from {data.name}/{data.split} to {out}")
    for note in data.notes:
        console.print(f"[yellow]note:[/] {note}")


def _judgements(dataset, split, path, text_column, label_column, label_values, language):
    """A named dataset through data's one name->loader table, or a generic file."""
    from culturealign.data.judgements import load_judgement_file, load_named

    if dataset == "file":
        if path is None:
            raise CultureAlignError("dataset 'file' needs --path", "add --path FILE")
        labels = None
        if label_values:
            labels = {}
            for part in label_values.split(","):
                key, sep, value = part.partition("=")
                if not sep or value.strip() not in ("0", "1"):
                    raise CultureAlignError(f"bad label value {part!r}", "write raw=1 or raw=0")
                labels[key.strip()] = int(value)
        return load_judgement_file(path, text_column, label_column, labels, language)
    return load_named(dataset, split, path)


def _sets(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CultureAlignError(f"bad --set {pair!r}", "write it as key=value")
        out[key.strip()] = value.strip()
    return out


# Options `train dpo` and `train sft` share word for word (help included); options whose
# defaults differ between the recipes (epochs, learning rate, ...) take their help per command.
Model = Annotated[str | None, typer.Option(help=describe(TrainCommon, "model"))]
Out = Annotated[Path | None, typer.Option(help=describe(TrainCommon, "out"))]
ConfigFile = Annotated[Path | None, typer.Option(help="YAML/JSON config file.")]
Resume = Annotated[bool, typer.Option(help="Continue from the last checkpoint.")]
MaxSteps = Annotated[int | None, typer.Option(help=describe(TrainCommon, "max_steps"))]
Limit = Annotated[int | None, typer.Option(help=describe(TrainCommon, "limit"))]
Seed = Annotated[int | None, typer.Option(help=describe(TrainCommon, "seed"))]
SaveEvery = Annotated[int | None, typer.Option(help=describe(TrainCommon, "save_every"))]
Device = Annotated[str | None, typer.Option(help=describe(TrainCommon, "device"))]
Threads = Annotated[int | None, typer.Option(help=describe(TrainCommon, "threads"))]
Sets = Annotated[list[str], typer.Option("--set", help="Any config field, key=value (lora.r=16).")]
ReportTo = Annotated[
    str,
    typer.Option(
        "--report-to",
        help="Log every step to tensorboard, mlflow or wandb (comma-separated) through "
        "transformers' integrations; TensorBoard files go to <out>/checkpoints/runs.",
    ),
]


def _lr(cls: type[TrainCommon]) -> Any:
    return typer.Option("--lr", "--learning-rate", help=describe(cls, "learning_rate"))


@train_app.command("dpo")
def train_dpo(
    model: Model = None,
    prefs: Annotated[Path | None, typer.Option(help=describe(D, "prefs"))] = None,
    out: Out = None,
    config: ConfigFile = None,
    resume: Resume = False,
    epochs: Annotated[float | None, typer.Option(help=describe(D, "epochs"))] = None,
    max_steps: MaxSteps = None,
    learning_rate: Annotated[float | None, _lr(D)] = None,
    batch_size: Annotated[int | None, typer.Option(help=describe(D, "batch_size"))] = None,
    grad_accum: Annotated[int | None, typer.Option(help=describe(D, "grad_accum"))] = None,
    beta: Annotated[float | None, typer.Option(help=describe(D, "beta"))] = None,
    scheduler: Annotated[str | None, typer.Option(help=describe(D, "scheduler"))] = None,
    engine: Annotated[str | None, typer.Option(help=describe(D, "engine"))] = None,
    backend: Annotated[
        str | None, typer.Option(hidden=True, help="Deprecated: the old name of --engine.")
    ] = None,
    limit: Limit = None,
    lora_r: Annotated[int | None, typer.Option(help=describe(L, "r"))] = None,
    lora_alpha: Annotated[int | None, typer.Option(help=describe(L, "alpha"))] = None,
    seed: Seed = None,
    save_every: SaveEvery = None,
    device: Device = None,
    threads: Threads = None,
    report_to: ReportTo = "none",
    set_: Sets = [],  # noqa: B006 (typer needs a literal default)
) -> None:
    """DPO with LoRA on preference pairs (defaults: Jinnai 2024 where it states them)."""
    given = dict(locals())  # before the imports below add names
    from culturealign.alignment.recipes import dpo_lora
    from culturealign.tracking import parse_report_to

    trackers = parse_report_to(given.pop("report_to"))
    given["engine"] = _engine(engine, backend)
    given.pop("backend")
    cfg = _resolve(DPOConfig, given)
    _report(cfg.out, dpo_lora.run(cfg, resume=resume, console=console, report_to=trackers))


@train_app.command("sft")
def train_sft(
    model: Model = None,
    data: Annotated[Path | None, typer.Option(help=describe(S, "data"))] = None,
    out: Out = None,
    config: ConfigFile = None,
    resume: Resume = False,
    epochs: Annotated[float | None, typer.Option(help=describe(S, "epochs"))] = None,
    max_steps: MaxSteps = None,
    learning_rate: Annotated[float | None, _lr(S)] = None,
    batch_size: Annotated[int | None, typer.Option(help=describe(S, "batch_size"))] = None,
    grad_accum: Annotated[int | None, typer.Option(help=describe(S, "grad_accum"))] = None,
    scheduler: Annotated[str | None, typer.Option(help=describe(S, "scheduler"))] = None,
    limit: Limit = None,
    lora_r: Annotated[int | None, typer.Option(help=f"LoRA rank [8]. {SFT_LORA}")] = None,
    lora_alpha: Annotated[int | None, typer.Option(help=f"LoRA alpha [16]. {SFT_LORA}")] = None,
    seed: Seed = None,
    save_every: SaveEvery = None,
    device: Device = None,
    threads: Threads = None,
    report_to: ReportTo = "none",
    set_: Sets = [],  # noqa: B006 (typer needs a literal default)
) -> None:
    """Supervised fine-tuning with LoRA (defaults: CultureSPA; configs/ has CultureBank's)."""
    given = dict(locals())  # before the imports below add names
    from culturealign.alignment.recipes import sft_lora
    from culturealign.tracking import parse_report_to

    trackers = parse_report_to(given.pop("report_to"))
    cfg = _resolve(SFTConfig, given)
    _report(cfg.out, sft_lora.run(cfg, resume=resume, console=console, report_to=trackers))


def _engine(engine: str | None, backend: str | None) -> str | None:
    """``--engine``, or the deprecated ``--backend`` it replaced (with a message saying so)."""
    if backend is None:
        return engine
    if engine is not None and engine != backend:
        raise CultureAlignError(
            f"--backend {backend} contradicts --engine {engine}", "give only --engine"
        )
    console.print("[yellow]deprecated:[/] --backend is now --engine; --backend will be removed")
    return backend


def _resolve(cls: type[C], given: dict[str, Any]) -> C:
    """The config from the file, the options given, then ``--set``; frozen from here on."""
    from culturealign.alignment.config import resolve_config

    skip = {"config", "resume", "set_", "lora_r", "lora_alpha"}
    options = {k: v for k, v in given.items() if k not in skip and v is not None}
    options |= {
        key: value
        for key, value in (("lora.r", given["lora_r"]), ("lora.alpha", given["lora_alpha"]))
        if value is not None
    }
    return resolve_config(cls, given["config"], options, _sets(given["set_"]))


def _report(out: Path, summary: dict[str, Any]) -> None:
    if os.environ.get("RANK", "0") != "0":
        return  # `accelerate launch`: rank 0 reports for all
    shown = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    out_console.print(" ".join(f"{k}={v}" for k, v in shown.items()))
    out_console.print(f"adapter: {out}  (evaluate: culturealign eval --adapter {out} ...)")


def export_cmd(
    model: Annotated[str, typer.Option(help="Base model: embedded name, folder or hub id.")],
    adapter: Annotated[Path, typer.Option(help="LoRA adapter folder from `culturealign train`.")],
    out: Annotated[Path, typer.Option(help="Folder for the merged safetensors model.")],
    dtype: Annotated[str, typer.Option(help="float32, bfloat16 or float16.")] = "float32",
) -> None:
    """Merge a LoRA adapter into its base model (safetensors); usable as --model anywhere."""
    from culturealign.alignment.export import merge_adapter

    if dtype not in ("float32", "bfloat16", "float16"):
        raise CultureAlignError(f"unknown dtype {dtype!r}", "use float32, bfloat16 or float16")
    merge_adapter(model, adapter, out, dtype)
    out_console.print(f"merged model: {out}  (evaluate: culturealign eval --model {out} ...)")
