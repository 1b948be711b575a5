"""The DPO loss (Rafailov et al., 2023, eq. 7) as one pure function.

Every culturealign DPO path computes its loss here; the equivalence test checks it against TRL's
``DPOTrainer`` ("sigmoid" loss) on the same batch, so the maths exists once.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F


class DPOStats(NamedTuple):
    loss: torch.Tensor  # scalar, differentiable
    chosen_rewards: torch.Tensor  # beta * (log pi - log ref) on chosen, detached, per pair
    rejected_rewards: torch.Tensor
    reward_accuracy: float  # share of pairs whose chosen reward beats the rejected one
    margin: float  # mean chosen - rejected reward


def dpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    beta: float,
) -> DPOStats:
    """Mean of ``-log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))`` over the batch.

    Log-probabilities are sequence totals (sum over completion tokens), as in TRL's default.
    """
    chosen_ratio = chosen_logps - ref_chosen_logps.to(chosen_logps)
    rejected_ratio = rejected_logps - ref_rejected_logps.to(rejected_logps)
    loss = -F.logsigmoid(beta * (chosen_ratio - rejected_ratio)).mean()
    chosen_rewards = beta * chosen_ratio.detach()
    rejected_rewards = beta * rejected_ratio.detach()
    diff = chosen_rewards - rejected_rewards
    return DPOStats(
        loss=loss,
        chosen_rewards=chosen_rewards,
        rejected_rewards=rejected_rewards,
        reward_accuracy=float((diff > 0).float().mean()),
        margin=float(diff.mean()),
    )
