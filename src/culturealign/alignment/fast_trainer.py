"""Training loop of the fast DPO path: AdamW + schedule, checkpoints, resume after a kill.

The loop is deliberately plain (no HF ``Trainer``): the fast path's step is a different
computation (:mod:`culturealign.alignment.fast_dpo`), and a visible loop makes the resume
contract easy to check. Data order is a seeded permutation per epoch, so a resumed run replays
exactly the batches an uninterrupted run would have seen.

Under ``accelerate launch`` (:mod:`culturealign.alignment.distributed`) ``settings`` describe the
global batch: every rank draws the same step indices, runs its slice, and the gradients are
summed before the (identical) optimizer step. Only rank 0 writes curves and checkpoints.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from culturealign.alignment.curves import CurveLog
from culturealign.alignment.distributed import Processes
from culturealign.alignment.dpo_loss import dpo_loss
from culturealign.alignment.fast_dpo import TokenizedPair, collate, pair_logps
from culturealign.alignment.lora import adapter_state, load_adapter_state
from culturealign.alignment.settings import TrainSettings

CHECKPOINTS = "checkpoints"
StepHook = Callable[[int, int, dict[str, Any]], None]


def adamw(params: list[torch.nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW in one fused kernel where torch has one for the device (CPU and CUDA do), as the
    HF Trainer's default ``adamw_torch_fused``: the per-tensor loop torch otherwise runs on CPU
    costs ~35 ms a step over LoRA's ~250 small tensors. Same update up to float rounding."""
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in params)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


def step_indices(n_pairs: int, step: int, settings: TrainSettings) -> list[int]:
    """Pair indices of optimizer step ``step`` (0-based): epoch-wise seeded permutations."""
    per_epoch = math.ceil(n_pairs / settings.pairs_per_step)
    epoch, offset = divmod(step, per_epoch)
    if settings.shuffle:
        gen = torch.Generator().manual_seed(settings.seed + epoch)
        order = torch.randperm(n_pairs, generator=gen).tolist()
    else:
        order = list(range(n_pairs))
    start = offset * settings.pairs_per_step
    return order[start : start + settings.pairs_per_step]


def used_indices(n_pairs: int, settings: TrainSettings) -> list[int]:
    """Pairs any step of the run touches: a short ``max_steps`` run needs few references."""
    total = settings.total_steps(n_pairs)
    per_epoch = math.ceil(n_pairs / settings.pairs_per_step)
    if total >= per_epoch:
        return list(range(n_pairs))
    return sorted({i for step in range(total) for i in step_indices(n_pairs, step, settings)})


def train_loop(
    model: Any,
    tokenized: Sequence[TokenizedPair],
    reference: torch.Tensor,
    out: Path,
    settings: TrainSettings,
    pad_id: int,
    on_step: StepHook | None = None,
    *,
    beta: float,
    processes: Processes | None = None,
) -> dict[str, Any]:
    """Train ``model``'s LoRA adapter with DPO strength ``beta``; resumes from
    ``out/checkpoints`` when one exists. With ``processes``, ``settings.batch_size`` is the
    global batch (per rank: that over the number of processes)."""
    from transformers import get_scheduler

    procs = processes or Processes()

    device = next(model.parameters()).device
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = adamw(params, settings.learning_rate, settings.weight_decay)
    total = settings.total_steps(len(tokenized))
    scheduler = get_scheduler(
        settings.scheduler,
        optimizer,
        num_warmup_steps=round(settings.warmup_ratio * total),
        num_training_steps=total,
    )
    start = resume_checkpoint(model, optimizer, scheduler, out)
    curves = CurveLog(out, resume_step=start) if procs.is_main else None
    model.train()
    began, last = time.perf_counter(), {}
    for step in range(start, total):
        idx = step_indices(len(tokenized), step, settings)
        last = _optimizer_step(
            model, optimizer, tokenized, reference, idx, settings, beta, pad_id, device, procs
        )
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        record = {"step": step + 1, "epoch": (step + 1) / _steps_per_epoch(tokenized, settings)}
        record |= last | {"lr": lr, "elapsed_s": round(time.perf_counter() - began, 2)}
        if curves is not None:
            curves.log(record)
        if on_step and procs.is_main:
            on_step(step + 1, total, record)
        if (step + 1) % settings.save_every == 0 and step + 1 < total and procs.is_main:
            save_checkpoint(model, optimizer, scheduler, out, step + 1, settings.keep_checkpoints)
    return {"steps": total, "resumed_from": start, **last}


def _steps_per_epoch(tokenized: Sequence[TokenizedPair], settings: TrainSettings) -> int:
    return math.ceil(len(tokenized) / settings.pairs_per_step)


def _optimizer_step(
    model, optimizer, tokenized, reference, idx, settings, beta, pad_id, device, procs
):
    """Accumulate ``grad_accum`` micro-batches (this rank's slice of the step's pairs), sum the
    gradients over ranks, clip, step; returns the step's mean stats over all its pairs."""
    sums = {"loss": 0.0, "reward_accuracy": 0.0, "margin": 0.0}
    mine, micro = procs.share(idx), max(1, settings.batch_size // procs.world)
    chunks = [mine[i : i + micro] for i in range(0, len(mine), micro)]
    for chunk in chunks:
        batch = collate([tokenized[i] for i in chunk], pad_id).to(device)
        chosen, rejected = pair_logps(model, batch)
        ref = reference[chunk].to(device)
        stats = dpo_loss(chosen, rejected, ref[:, 0], ref[:, 1], beta)
        # Weight by chunk size so a short last chunk counts per pair, as one big batch would.
        (stats.loss * len(chunk) / len(idx)).backward()
        share = len(chunk) / len(idx)
        sums["loss"] += float(stats.loss.detach()) * share
        sums["reward_accuracy"] += stats.reward_accuracy * share
        sums["margin"] += stats.margin * share
    params = [p for p in model.parameters() if p.requires_grad]
    procs.sum_grads(params)
    sums = procs.sum_floats(sums)
    grad_norm = torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return {k: round(v, 6) for k, v in sums.items()} | {"grad_norm": round(float(grad_norm), 6)}


def save_checkpoint(model, optimizer, scheduler, out: Path, step: int, keep: int) -> Path:
    """Adapter weights (safetensors) + optimizer/scheduler/RNG state, written then renamed."""
    from safetensors.torch import save_file

    root = out / CHECKPOINTS
    final = root / f"step-{step:07d}"
    tmp = root / f".tmp-step-{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = {k: v.detach().cpu().contiguous() for k, v in adapter_state(model).items()}
    save_file(state, tmp / "adapter_model.safetensors")
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(),
        },
        tmp / "trainer_state.pt",
    )
    (tmp / "step.json").write_text(json.dumps({"step": step}))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)  # a kill before this line leaves only a .tmp folder, ignored on resume
    for old in sorted(root.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out: Path) -> Path | None:
    done = sorted((out / CHECKPOINTS).glob("step-*"))
    return done[-1] if done else None


def resume_checkpoint(model, optimizer, scheduler, out: Path) -> int:
    """Load the newest complete checkpoint in ``out``; returns its step (0 when none)."""
    ckpt = latest_checkpoint(out)
    if ckpt is None:
        return 0
    from safetensors.torch import load_file

    device = next(model.parameters()).device
    load_adapter_state(model, load_file(ckpt / "adapter_model.safetensors"))
    # weights_only: the file holds tensors and numbers only, so refuse anything else.
    state = torch.load(ckpt / "trainer_state.pt", map_location=device, weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"].cpu())
    return int(json.loads((ckpt / "step.json").read_text())["step"])
