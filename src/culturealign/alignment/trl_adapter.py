"""The one module that touches TRL and PEFT APIs (pinned in pyproject: trl>=1,<2, peft<1).

Recipes call these builders with flat arguments; when TRL or PEFT rename something, only this
file changes (TRL's ``tokenizer`` -> ``processing_class`` rename broke many direct callers).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from culturealign.alignment.config import LoraSettings


def lora_config(lora: LoraSettings) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )


def wrap_lora(model: Any, lora: LoraSettings) -> Any:
    """A new trainable LoRA adapter over a frozen ``model``."""
    from peft import get_peft_model

    return get_peft_model(model, lora_config(lora))


def disable_dropout(model: Any) -> None:
    """DPO log-ratios must be deterministic, so dropout is off (TRL's ``disable_dropout``)."""
    from trl.trainer.utils import disable_dropout_in_model

    disable_dropout_in_model(model)


def adapter_state(model: Any) -> dict[str, Any]:
    from peft import get_peft_model_state_dict

    return get_peft_model_state_dict(model)


def load_adapter_state(model: Any, state: dict[str, Any]) -> None:
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(model, state)
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise RuntimeError(f"checkpoint has unexpected adapter weights: {unexpected[:3]}")


def load_adapter(model: Any, adapter: Path) -> Any:
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(adapter))


def preference_dataset(rows: Sequence[dict[str, str]]) -> Any:
    from datasets import Dataset

    return Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])


def _trainer_args(
    out: Path,
    learning_rate: float,
    batch_size: int,
    grad_accum: int,
    epochs: float,
    max_steps: int | None,
    scheduler: str,
    warmup_ratio: float,
    weight_decay: float,
    max_grad_norm: float,
    max_length: int | None,
    seed: int,
    save_every: int,
    keep_checkpoints: int,
    logging_steps: int,
    use_cpu: bool,
) -> dict[str, Any]:
    """The HF TrainingArguments fields both TRL configs share, in culturealign's names."""
    return dict(
        output_dir=str(out),
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        num_train_epochs=epochs,
        max_steps=max_steps or -1,
        lr_scheduler_type=scheduler,
        warmup_steps=warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        weight_decay=weight_decay,
        max_grad_norm=max_grad_norm,
        max_length=max_length,
        seed=seed,
        save_steps=save_every,
        save_total_limit=keep_checkpoints,
        logging_steps=logging_steps,
        report_to=[],
        use_cpu=use_cpu,
    )


def trl_dpo_trainer(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, str]],
    out: Path,
    *,
    lora: LoraSettings,
    beta: float,
    learning_rate: float,
    batch_size: int,
    grad_accum: int = 1,
    epochs: float = 1.0,
    max_steps: int | None = None,
    scheduler: str = "linear",
    warmup_ratio: float = 0.0,
    weight_decay: float = 0.0,
    max_grad_norm: float = 1.0,
    max_length: int | None = 1024,
    seed: int = 42,
    save_every: int = 500,
    keep_checkpoints: int = 2,
    use_cpu: bool = False,
    bf16: bool | None = None,
    gradient_checkpointing: bool | None = None,
    logging_steps: int = 1,
    sequential: bool = False,
    callbacks: Sequence[Any] = (),
) -> Any:
    """TRL ``DPOTrainer`` adding a new LoRA adapter to ``model``; ``None`` keeps TRL's default.

    The base model goes in unwrapped: TRL then uses the adapter-less base as the reference
    (given a PeftModel it would copy the adapter as the reference instead).
    """
    from trl import DPOConfig, DPOTrainer

    extra: dict[str, Any] = {}
    if bf16 is not None:
        extra["bf16"] = bf16
    if gradient_checkpointing is not None:
        extra["gradient_checkpointing"] = gradient_checkpointing
    if sequential:  # file order: lets a benchmark feed the fast path the very same batches
        extra["train_sampling_strategy"] = "sequential"
    args = DPOConfig(
        **_trainer_args(
            out,
            learning_rate,
            batch_size,
            grad_accum,
            epochs,
            max_steps,
            scheduler,
            warmup_ratio,
            weight_decay,
            max_grad_norm,
            max_length,
            seed,
            save_every,
            keep_checkpoints,
            logging_steps,
            use_cpu,
        ),
        beta=beta,
        dataset_num_proc=None,
        **extra,
    )
    return DPOTrainer(
        model=model,
        args=args,
        train_dataset=preference_dataset(rows),
        processing_class=tokenizer,
        callbacks=list(callbacks),
        peft_config=lora_config(lora),
    )


def trl_sft_trainer(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    out: Path,
    *,
    lora: LoraSettings,
    learning_rate: float,
    batch_size: int,
    grad_accum: int = 1,
    epochs: float = 1.0,
    max_steps: int | None = None,
    scheduler: str = "cosine",
    warmup_ratio: float = 0.0,
    weight_decay: float = 0.0,
    max_grad_norm: float = 1.0,
    max_length: int | None = 1024,
    seed: int = 42,
    save_every: int = 500,
    keep_checkpoints: int = 2,
    completion_only_loss: bool = True,
    use_cpu: bool = False,
    bf16: bool | None = None,
    logging_steps: int = 1,
    callbacks: Sequence[Any] = (),
) -> Any:
    """TRL ``SFTTrainer`` adding a new LoRA adapter to ``model``."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    extra: dict[str, Any] = {} if bf16 is None else {"bf16": bf16}
    args = SFTConfig(
        **_trainer_args(
            out,
            learning_rate,
            batch_size,
            grad_accum,
            epochs,
            max_steps,
            scheduler,
            warmup_ratio,
            weight_decay,
            max_grad_norm,
            max_length,
            seed,
            save_every,
            keep_checkpoints,
            logging_steps,
            use_cpu,
        ),
        completion_only_loss=completion_only_loss,
        **extra,
    )
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(list(rows)),
        processing_class=tokenizer,
        callbacks=list(callbacks),
        peft_config=lora_config(lora),
    )


# TRL log keys -> culturealign curve keys (one vocabulary for both DPO paths' curves).
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
