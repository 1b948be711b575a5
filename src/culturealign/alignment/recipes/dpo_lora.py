"""Recipe: DPO with a LoRA adapter (Jinnai, 2024: moral judgements as preference pairs).

Reads top to bottom: config -> preference pairs -> model + LoRA -> engine (fast | TRL) -> adapter,
config, manifest, curves. The fast path handles short completions (moral judgements are a token
or two); anything longer goes to TRL's ``DPOTrainer``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from culturealign.alignment import lora, trl_trainers
from culturealign.alignment.config import DPOConfig
from culturealign.alignment.curves import CURVES_FILE, PLOT_FILE, CurveLog, plot_curves
from culturealign.alignment.distributed import Processes, process_group, under_deepspeed
from culturealign.alignment.fast_dpo import TokenizedPair, reference_logps, tokenize_pair
from culturealign.alignment.fast_trainer import CHECKPOINTS, train_loop, used_indices
from culturealign.alignment.prefs import PreferencePair, read_pairs
from culturealign.alignment.recipes.common import load_base, prepare_out, write_manifest
from culturealign.alignment.settings import TrainSettings
from culturealign.alignment.step_bar import step_bar
from culturealign.errors import CultureAlignError
from culturealign.library_warnings import quiet_library_deprecations
from culturealign.tracking import chain, step_tracking

REFERENCE_FILE = "reference_logps.safetensors"


def run(
    cfg: DPOConfig,
    resume: bool = False,
    console: Console | None = None,
    report_to: Sequence[str] = (),
) -> dict[str, Any]:
    """Train and save the adapter in ``cfg.out``; returns the manifest's summary.

    ``report_to``: tracking integrations (tensorboard, mlflow, wandb) that get every step.
    """
    import torch

    pairs = read_pairs(cfg.prefs, cfg.limit)
    procs = process_group()  # under `accelerate launch`: this rank; else rank 0 of 1
    prepare_out(cfg, resume, write=procs.is_main)
    console = console if procs.is_main else None
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    model, tokenizer, device = load_base(cfg)
    _warn_template_mismatch(pairs, tokenizer, console)
    tokenized = [tokenize_pair(tokenizer, p, cfg.append_eos) for p in pairs]
    keep = [i for i, t in enumerate(tokenized) if _fits(t, cfg.max_length)]
    dropped = len(pairs) - len(keep)
    if not keep:
        raise CultureAlignError(f"no pair fits max_length={cfg.max_length}", "raise --max-length")
    longest = max(max(len(tokenized[i].chosen), len(tokenized[i].rejected)) for i in keep)
    engine = cfg.engine
    if engine == "auto":
        engine = "fast" if longest <= cfg.fast_max_completion else "trl"
    settings = TrainSettings.from_config(cfg)
    if engine == "fast":
        kept = [tokenized[i] for i in keep]
        summary = _run_fast(cfg, settings, model, tokenizer, kept, console, procs, report_to)
    else:
        kept_pairs = [pairs[i] for i in keep]
        summary = _run_trl(
            cfg, settings, model, tokenizer, kept_pairs, resume, device, console, report_to
        )
    summary["processes"] = procs.world
    if not procs.is_main:
        return summary  # rank 0 writes the adapter, curves and manifest
    plot_curves(cfg.out / CURVES_FILE, cfg.out / PLOT_FILE)
    summary |= {
        "backend": engine,  # the manifest keeps its old key, as training_config.json does
        "device": device,
        "pairs_available": len(keep),
        "pairs_dropped_too_long": dropped,
        "longest_completion_tokens": longest,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    write_manifest(cfg, {"summary": summary, "prefs_sha256": _sha256(cfg.prefs)})
    return summary


def _fits(t: TokenizedPair, max_length: int) -> bool:
    return len(t.prompt) + max(len(t.chosen), len(t.rejected)) <= max_length


def _run_fast(
    cfg: DPOConfig,
    settings: TrainSettings,
    model,
    tokenizer,
    tokenized,
    console,
    procs: Processes | None = None,
    report_to: Sequence[str] = (),
) -> dict[str, Any]:
    procs = procs or Processes()
    if under_deepspeed():
        raise CultureAlignError(
            "the fast DPO engine is plain data-parallel and cannot run under DeepSpeed ZeRO",
            "add --engine trl (TRL's DPOTrainer runs DeepSpeed through accelerate)",
        )
    # --batch-size is per process (as in TRL/accelerate); the loop takes the global batch.
    settings = replace(settings, batch_size=settings.batch_size * procs.world)
    model = lora.wrap_lora(model, settings.lora)
    lora.disable_dropout(model)
    used = used_indices(len(tokenized), settings)
    if procs.is_main:
        reference = _cached_reference(cfg, model, tokenizer, tokenized, used, console)
    procs.barrier()  # the other ranks read the reference rank 0 stored
    if not procs.is_main:
        reference = _cached_reference(cfg, model, tokenizer, tokenized, used, None, write=False)
    trackers = report_to if procs.is_main else ()
    run_params = cfg.model_dump(mode="json")
    with (
        step_bar(console, "DPO (fast path)") as hook,
        # Where the TRL engine's integrations log too (transformers' default: output_dir/runs).
        step_tracking(
            trackers, cfg.out / CHECKPOINTS, cfg.out.name, run_params, settings.pairs_per_step
        ) as track,
    ):
        summary = train_loop(
            model,
            tokenized,
            reference,
            cfg.out,
            settings,
            tokenizer.pad_token_id,
            chain(hook, track),
            beta=cfg.beta,
            processes=procs,
        )
    if procs.is_main:
        model.save_pretrained(str(cfg.out))  # adapter_model.safetensors + adapter_config.json
    return summary | {"pairs_trained": len(used)}


def _cached_reference(cfg, model, tokenizer, tokenized, used, console, write=True):
    """Reference log-probs, stored next to the run so a resume does not recompute them."""
    import torch
    from safetensors.torch import load_file, save_file

    key = hashlib.sha256(repr([tuple(map(tuple, t)) for t in tokenized] + used).encode())
    key = key.hexdigest()
    path = cfg.out / REFERENCE_FILE
    if path.is_file():
        stored = load_file(path)
        if bytes(stored["key"].tolist()).decode() == key:
            return stored["logps"]
    with step_bar(console, "reference log-probs") as hook:
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            hook(done[0], len(used), {})

        logps = reference_logps(
            model, tokenized, tokenizer.pad_token_id, progress=advance, indices=used
        )
    if not write:
        return logps
    key_tensor = torch.tensor(list(key.encode()), dtype=torch.uint8)
    save_file({"logps": logps, "key": key_tensor}, path)
    return logps


def _run_trl(
    cfg: DPOConfig,
    settings: TrainSettings,
    model,
    tokenizer,
    pairs,
    resume,
    device,
    console,
    report_to: Sequence[str] = (),
) -> dict[str, Any]:
    checkpoints = cfg.out / CHECKPOINTS  # TRL's output_dir: its checkpoint-N folders live here
    last = trl_trainers.last_trl_checkpoint(checkpoints) if resume else None
    resumed_from = last.step if last else 0
    is_main = process_group().is_main  # accelerate inside Trainer runs the data parallelism
    # Steps a killed run logged after its last checkpoint are redone, so their rows go.
    curves = CurveLog(cfg.out, resume_step=resumed_from) if is_main else None
    with step_bar(console, "DPO (TRL)") as hook:

        def on_log(step: int, total: int, record: dict[str, Any]) -> None:
            if curves is not None:
                curves.log(record)
                hook(step, total, record)

        trainer = trl_trainers.trl_dpo_trainer(
            model,
            tokenizer,
            [p.model_dump() for p in pairs],
            checkpoints,
            settings,
            beta=cfg.beta,
            device=device,
            callbacks=[trl_trainers.log_callback(on_log)],
            report_to=list(report_to),  # transformers' own integrations log the TRL engine
        )
        with quiet_library_deprecations():
            result = trainer.train(resume_from_checkpoint=str(last.path) if last else None)
    if is_main:
        trainer.model.save_pretrained(str(cfg.out))
    return {"steps": result.global_step, "resumed_from": resumed_from, "loss": result.training_loss}


def _warn_template_mismatch(pairs: list[PreferencePair], tokenizer: Any, console) -> None:
    """The prompt must match evaluation: a chat model is evaluated through its template."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    templated = pairs[0].chat_template is not None
    if has_template != templated and console is not None:
        console.print(
            "[yellow]warning:[/] the preference prompts were rendered "
            + ("with" if templated else "without")
            + " a chat template but this model "
            + ("has none" if templated else "has one")
            + "; evaluation would see a different prompt (rebuild with prefs --model)"
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
