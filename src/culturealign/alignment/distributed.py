"""Data-parallel training under ``accelerate launch`` (or torchrun): who am I, and sums.

``accelerate launch --multi_gpu --num_processes N -m culturealign train ...`` (or
``torchrun --nproc_per_node N -m culturealign ...``) starts N copies of the command with
``RANK``/``WORLD_SIZE`` set; :func:`process_group` joins them through accelerate's
``PartialState`` (gloo on CPU, NCCL on GPUs). accelerate 1.15's ``--cpu --num_processes N``
without an MPI hostfile starts ONE process: on CPUs use the ``--multi_gpu`` form (it runs
torchrun, and gloo is picked when there is no GPU) or torchrun itself.

The fast DPO loop then works like DDP: each rank runs the backward of its slice of the global
batch and the gradients are summed with one all-reduce, so N ranks of batch b take the same
steps as one process of batch N*b. TRL's trainers need none of this (accelerate is inside
``Trainer``); the recipes only ask :attr:`Processes.is_main` before writing files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Processes:
    """This process's place among the training processes (rank 0 of 1 when not launched)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, items: list[Any]) -> list[Any]:
        """This rank's contiguous slice of a global batch (equal slices, the last may be short)."""
        per = -(-len(items) // self.world)
        return items[self.rank * per : (self.rank + 1) * per]

    def sum_grads(self, params: Iterable[torch.nn.Parameter]) -> None:
        """Sum gradients over ranks in place (DDP's all-reduce, without its bucketing)."""
        if self.world == 1:
            return
        import torch.distributed as dist

        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)

    def sum_floats(self, values: dict[str, float]) -> dict[str, float]:
        """The per-key sum of ``values`` over ranks (float64, so logged stats do not drift)."""
        if self.world == 1:
            return values
        import torch.distributed as dist

        keys = list(values)  # the same order on every rank
        t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return dict(zip(keys, t.tolist(), strict=True))

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()


def process_group() -> Processes:
    """Join the launched processes (once); a plain run is ``Processes()``."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Processes()
    from accelerate import PartialState

    # init_process_group from the launcher's env; without cpu=True accelerate would not see a
    # CPU-only multi-process run (DistributedType.NO) and every rank would train alone.
    state = PartialState(cpu=not torch.cuda.is_available())
    return Processes(state.process_index, state.num_processes, state.local_process_index)


def under_deepspeed() -> bool:
    """True when launched with a DeepSpeed accelerate config (configs/accelerate/)."""
    return os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"
