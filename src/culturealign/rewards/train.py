"""``train rm``: a Bradley-Terry reward model, LoRA on a causal LM with a scalar head.

The model is the base's ``*ForSequenceClassification`` class with one output (the reward is the
head applied to the last real token, EOS appended as TRL does), LoRA on all linear layers and a
fully trained head (PEFT ``SEQ_CLS`` saves it as a module to save). Each step forwards chosen
then rejected texts as one right-padded batch and minimises ``-log sigmoid(r_chosen -
r_rejected)``: TRL's ``RewardTrainer.compute_loss`` term for term (tests/rewards checks equal loss
and gradients), in the project's plain loop (:mod:`culturealign.alignment.fast_trainer`: seeded
data order, checkpoints, resume after a kill, curves).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from culturealign.alignment.curves import CurveLog, plot_curves
from culturealign.alignment.fast_trainer import (
    adamw,
    resume_checkpoint,
    save_checkpoint,
    step_indices,
)
from culturealign.alignment.recipes.common import model_source
from culturealign.alignment.settings import TrainSettings
from culturealign.library_warnings import quiet_library_deprecations
from culturealign.paths import atomic_path
from culturealign.rewards.config import RMConfig
from culturealign.rewards.model import RM_META, seqcls_from_causal
from culturealign.rewards.pairs import SentencePair, jcm_pairs, read_pair_file


def load_training_pairs(cfg: RMConfig) -> list[SentencePair]:
    pairs = read_pair_file(cfg.pairs) if cfg.pairs else jcm_pairs("train")
    return pairs[: cfg.limit] if cfg.limit else pairs


def build_model(cfg: RMConfig) -> tuple[Any, Any]:
    """The seq-cls base with a fresh LoRA adapter (SEQ_CLS task: the head is trained fully)."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(cfg.seed)  # LoRA and head init
    model, tok = seqcls_from_causal(model_source(cfg.model))
    n_layers = model.config.num_hidden_layers
    top = None
    if cfg.lora_layers is not None and cfg.lora_layers < n_layers:
        top = list(range(n_layers - cfg.lora_layers, n_layers))
    targets = cfg.lora.target_modules
    if top and targets == "all-linear":  # PEFT takes a layer subset only with a module list
        targets = sorted(
            {
                n.rsplit(".", 1)[-1]
                for n, m in model.named_modules()
                if isinstance(m, torch.nn.Linear) and ".layers." in n
            }
        )
    lora = LoraConfig(
        layers_to_transform=top,
        layers_pattern="layers" if top else None,
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=targets,
        bias="none",
        task_type="SEQ_CLS",
    )
    with quiet_library_deprecations():
        return get_peft_model(model, lora), tok


def tokenize(tok: Any, pairs: Sequence[SentencePair], cfg: RMConfig) -> list[tuple[list, list]]:
    """(chosen ids, rejected ids) per pair, as TRL: prompt + text + EOS, cut at max_length."""
    from culturealign.rewards.model import join_text

    eos = tok.eos_token if cfg.append_eos else ""

    def ids(prompt: str, text: str) -> list[int]:
        return tok(join_text(prompt, text) + eos)["input_ids"][-cfg.max_length :]

    return [(ids(p.prompt, p.chosen), ids(p.prompt, p.rejected)) for p in pairs]


def collate(rows: Sequence[tuple[list, list]], pad_id: int) -> dict[str, torch.Tensor]:
    """Chosen rows then rejected rows, right-padded: TRL's ``DataCollatorForPreference``."""
    seqs = [r[0] for r in rows] + [r[1] for r in rows]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def bt_loss(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """Bradley-Terry loss of one collated batch, with accuracy and mean margin."""
    rewards = model(**batch, use_cache=False).logits.squeeze(-1)
    chosen, rejected = torch.chunk(rewards, chunks=2)
    loss = -torch.nn.functional.logsigmoid(chosen - rejected).mean()
    with torch.no_grad():
        stats = {
            "reward_accuracy": float((chosen > rejected).float().mean()),
            "margin": float((chosen - rejected).mean()),
        }
    return loss, stats


def train_rm(
    cfg: RMConfig, on_step: Callable[[int, int, dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Train, resuming from ``cfg.out/checkpoints``; writes the adapter + head and metadata."""
    from transformers import get_scheduler

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    began, cpu0 = time.perf_counter(), time.process_time()
    settings = TrainSettings.from_config(cfg)
    pairs = load_training_pairs(cfg)
    model, tok = build_model(cfg)
    data = tokenize(tok, pairs, cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = adamw(params, cfg.learning_rate, cfg.weight_decay)
    total = settings.total_steps(len(data))
    scheduler = get_scheduler(
        cfg.scheduler,
        optimizer,
        num_warmup_steps=round(cfg.warmup_ratio * total),
        num_training_steps=total,
    )
    start = resume_checkpoint(model, optimizer, scheduler, cfg.out)
    curves = CurveLog(cfg.out, resume_step=start)
    model.train()
    last: dict[str, Any] = {}
    for step in range(start, total):
        idx = step_indices(len(data), step, settings)
        last = _optimizer_step(model, optimizer, [data[i] for i in idx], settings, tok.pad_token_id)
        record = {"step": step + 1, **last, "lr": scheduler.get_last_lr()[0]}
        record["elapsed_s"] = round(time.perf_counter() - began, 2)
        scheduler.step()
        curves.log(record)
        if on_step:
            on_step(step + 1, total, record)
        if (step + 1) % cfg.save_every == 0 and step + 1 < total:
            save_checkpoint(model, optimizer, scheduler, cfg.out, step + 1, cfg.keep_checkpoints)
        if cfg.max_minutes and time.perf_counter() - began > 60 * cfg.max_minutes:
            total = step + 1  # the budget is spent: this step is the last
            break
    summary = {
        "steps": total,
        "resumed_from": start,
        "pairs": len(data),
        "wall_s": round(time.perf_counter() - began, 1),
        "cpu_s": round(time.process_time() - cpu0, 1),
        **last,
    }
    save_rm(model, cfg, summary)
    return summary


def _optimizer_step(model, optimizer, rows, settings: TrainSettings, pad_id: int):
    sums = {"loss": 0.0, "reward_accuracy": 0.0, "margin": 0.0}
    for s in range(0, len(rows), settings.batch_size):
        chunk = rows[s : s + settings.batch_size]
        share = len(chunk) / len(rows)
        loss, stats = bt_loss(model, collate(chunk, pad_id))
        (loss * share).backward()  # a short last chunk counts per pair, as one batch would
        sums["loss"] += float(loss.detach()) * share
        for k, v in stats.items():
            sums[k] += v * share
    norm = torch.nn.utils.clip_grad_norm_(
        [p for p in model.parameters() if p.requires_grad], settings.max_grad_norm
    )
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return {k: round(v, 6) for k, v in sums.items()} | {"grad_norm": round(float(norm), 6)}


def save_rm(model: Any, cfg: RMConfig, summary: dict[str, Any]) -> None:
    """Adapter + head (PEFT layout) and ``reward_model.json``, which is written last: a folder
    without it is not a finished reward model."""
    model.save_pretrained(str(cfg.out))
    meta = {
        "kind": "culturealign-reward-model",
        "base": cfg.model,
        "append_eos": cfg.append_eos,
        "max_length": cfg.max_length,
        "config": json.loads(cfg.model_dump_json()),
        "train": summary,
    }
    with atomic_path(cfg.out / RM_META) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    plot_curves(cfg.out / "curves.jsonl", cfg.out / "curves.png")
