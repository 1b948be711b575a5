"""TRL trainer construction: the one module that touches TRL's trainer API (trl>=1,<2).

Trainers are built from a :class:`~culturealign.alignment.settings.TrainSettings`; when TRL
renames something (its ``tokenizer`` -> ``processing_class`` rename broke many direct callers),
only this file changes. ``trl_args`` passes further TRL config fields through unchanged (a
benchmark's speed options, say); they override what the settings give.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from culturealign.alignment.lora import lora_config
from culturealign.alignment.settings import TrainSettings
from culturealign.library_warnings import quiet_library_deprecations

LOGGING_STEPS = 1  # every step: the curves file has one row per optimizer step


def preference_dataset(rows: Sequence[dict[str, str]]) -> Any:
    from datasets import Dataset

    return Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])


def training_args(settings: TrainSettings, out: Path, device: str) -> dict[str, Any]:
    """``settings`` in HF ``TrainingArguments`` names (the fields both TRL configs share)."""
    args: dict[str, Any] = dict(
        output_dir=str(out),
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1,
        lr_scheduler_type=settings.scheduler,
        warmup_steps=settings.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm,
        max_length=settings.max_length,
        seed=settings.seed,
        save_steps=settings.save_every,
        save_total_limit=settings.keep_checkpoints,
        logging_steps=LOGGING_STEPS,
        report_to=[],
        use_cpu=device == "cpu",
        bf16=device.startswith("cuda"),  # TRL defaults to bf16, which a CPU cannot run
    )
    if not settings.shuffle:
        args["train_sampling_strategy"] = "sequential"
    return args


def trl_dpo_trainer(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, str]],
    out: Path,
    settings: TrainSettings,
    *,
    beta: float,
    device: str = "cpu",
    callbacks: Sequence[Any] = (),
    trainer_cls: type | None = None,
    **trl_args: Any,
) -> Any:
    """TRL ``DPOTrainer`` (or ``trainer_cls``, a subclass) adding a new LoRA adapter to ``model``.

    The base model goes in unwrapped: TRL then uses the adapter-less base as the reference
    (given a PeftModel it would copy the adapter as the reference instead).
    """
    from trl import DPOConfig, DPOTrainer

    fields = training_args(settings, out, device) | {"beta": beta, "dataset_num_proc": None}
    with quiet_library_deprecations():
        trainer = (trainer_cls or DPOTrainer)(
            model=model,
            args=trl_config(DPOConfig, fields | trl_args),
            train_dataset=preference_dataset(rows),
            processing_class=tokenizer,
            callbacks=list(callbacks),
            peft_config=lora_config(settings.lora),
        )
    return _without_log_printer(trainer)


def trl_sft_trainer(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    out: Path,
    settings: TrainSettings,
    *,
    completion_only_loss: bool = True,
    device: str = "cpu",
    callbacks: Sequence[Any] = (),
    **trl_args: Any,
) -> Any:
    """TRL ``SFTTrainer`` adding a new LoRA adapter to ``model``."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    fields = training_args(settings, out, device) | {"completion_only_loss": completion_only_loss}
    with quiet_library_deprecations():
        trainer = SFTTrainer(
            model=model,
            args=trl_config(SFTConfig, fields | trl_args),
            train_dataset=Dataset.from_list(list(rows)),
            processing_class=tokenizer,
            callbacks=list(callbacks),
            peft_config=lora_config(settings.lora),
        )
    return _without_log_printer(trainer)


def _without_log_printer(trainer: Any) -> Any:
    """Drop transformers' ``PrinterCallback``: with its bars off (our quiet logging level) it
    prints every log dict raw to stdout; the step lines of ``log_callback`` already say it."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    return trainer


# transformers 5 renamed gradient checkpointing to activation checkpointing and warns when a
# config sets the old name, which TRL's configs do by default (True).
_RENAMED = {
    "gradient_checkpointing": "activation_checkpointing",
    "gradient_checkpointing_kwargs": "activation_checkpointing_kwargs",
}


def trl_config(cls: type, values: dict[str, Any]) -> Any:
    """``cls(**values)`` with checkpointing under transformers' current names: a value given
    under the old name keeps its meaning, and TRL's default (on) stays TRL's default."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    values = dict(values)
    if "activation_checkpointing" in names:  # transformers >= 5
        for old, new in _RENAMED.items():
            if old in values:
                values.setdefault(new, values.pop(old))
        values.setdefault("activation_checkpointing", names["gradient_checkpointing"].default)
    return cls(**values)


# TRL log keys -> culturealign curve keys (one vocabulary for both DPO engines' curves).
_LOG_KEYS = {
    "loss": "loss",
    "rewards/accuracies": "reward_accuracy",
    "rewards/margins": "margin",
    "grad_norm": "grad_norm",
    "learning_rate": "lr",
    "epoch": "epoch",
}


def log_callback(on_log: Any) -> Any:
    """A transformers ``TrainerCallback`` forwarding each training log as a curve record."""
    from transformers import TrainerCallback

    class _Forward(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if logs and "loss" in logs:
                record = {"step": state.global_step}
                record |= {ours: logs[k] for k, ours in _LOG_KEYS.items() if k in logs}
                on_log(state.global_step, state.max_steps, record)

    return _Forward()


class TrlCheckpoint(NamedTuple):
    path: Path
    step: int


def last_trl_checkpoint(folder: Path) -> TrlCheckpoint | None:
    """The newest complete ``checkpoint-N`` in ``folder`` (TRL's ``output_dir``).

    ``Trainer`` writes ``trainer_state.json`` last, so a kill in the middle of a save leaves a
    folder without a readable one; transformers' ``get_last_checkpoint`` would pick that folder
    and the resume would fail, so it is skipped here.
    """
    found = []
    for path in folder.glob("checkpoint-*") if folder.is_dir() else ():
        try:
            state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        found.append(TrlCheckpoint(path, int(state["global_step"])))
    return max(found, key=lambda c: c.step, default=None)
