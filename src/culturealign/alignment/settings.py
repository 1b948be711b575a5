"""The one frozen set of training settings every trainer reads.

Built once from a resolved config (:meth:`TrainSettings.from_config`) and passed down unchanged
to the fast DPO loop (:mod:`culturealign.alignment.fast_trainer`) and to TRL's trainers
(:mod:`culturealign.alignment.trl_trainers`, the only place that translates it into
``TrainingArguments`` names). Method-specific values (DPO's beta) and runtime facts (the device)
travel beside it, not in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from culturealign.alignment.config import LoraSettings, TrainCommon


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation, schedule, data order and checkpointing of one training run."""

    learning_rate: float
    batch_size: int
    grad_accum: int = 1
    epochs: float = 1.0
    max_steps: int | None = None
    scheduler: str = "linear"
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_length: int | None = 1024
    seed: int = 42
    save_every: int = 500
    keep_checkpoints: int = 2
    lora: LoraSettings = field(default_factory=LoraSettings)
    # False: file order (TRL's "sequential" sampler), e.g. to feed both engines the same batches.
    shuffle: bool = True

    @classmethod
    def from_config(cls, cfg: TrainCommon) -> TrainSettings:
        """The settings of a resolved config: every field here is a config field of that name."""
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls) if hasattr(cfg, f.name)})

    @property
    def pairs_per_step(self) -> int:
        return self.batch_size * self.grad_accum

    def total_steps(self, n_rows: int) -> int:
        per_epoch = math.ceil(n_rows / self.pairs_per_step)
        return self.max_steps or max(1, math.ceil(per_epoch * self.epochs))
