import math

import pytest
import torch

from culturealign.alignment.dpo_loss import dpo_loss


def test_loss_matches_hand_computation():
    pc, pr = torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -1.0])
    rc, rr = torch.tensor([-2.0, -2.0]), torch.tensor([-2.0, -2.0])
    stats = dpo_loss(pc, pr, rc, rr, beta=0.5)
    # pair 0: (1) - (-1) = 2 -> -log sigmoid(1); pair 1: 0 - 1 = -1 -> -log sigmoid(-0.5)
    expected = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(0.5))) / 2
    assert stats.loss.item() == pytest.approx(expected, rel=1e-6)
    assert stats.chosen_rewards.tolist() == pytest.approx([0.5, 0.0])
    assert stats.rejected_rewards.tolist() == pytest.approx([-0.5, 0.5])
    assert stats.reward_accuracy == 0.5
    assert stats.margin == pytest.approx((1.0 - 0.5) / 2)


def test_equal_policy_and_reference_give_log2_and_gradient_flows():
    pc = torch.tensor([-1.5, -0.2], requires_grad=True)
    pr = torch.tensor([-0.7, -3.0], requires_grad=True)
    stats = dpo_loss(pc, pr, pc.detach(), pr.detach(), beta=0.1)
    assert stats.loss.item() == pytest.approx(math.log(2))
    stats.loss.backward()
    # d/d pc of -log sigmoid(beta * d) at d=0 = -beta/2 per pair, averaged over 2 pairs
    assert pc.grad.tolist() == pytest.approx([-0.025, -0.025])
    assert pr.grad.tolist() == pytest.approx([0.025, 0.025])
