"""``train rm``: the loop's tokens, loss and gradients are TRL RewardTrainer's."""

from __future__ import annotations

import pytest
import torch

from culturealign.rewards.config import RMConfig
from culturealign.rewards.pairs import SentencePair
from culturealign.rewards.train import bt_loss, build_model, collate, tokenize

PAIRS = [
    SentencePair("困っている人を助けた", "困っている人を笑った", "0"),
    SentencePair("電車で席を譲った", "電車で席を奪った", "1", prompt="評価して"),
    SentencePair("落とし物を届けた", "落とし物を盗んだ", "2"),
]


def test_loss_tokens_and_gradients_equal_trl_reward_trainer(tiny_causal, tmp_path):
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer
    from trl.trainer.reward_trainer import DataCollatorForPreference

    from culturealign.alignment.trl_trainers import trl_config

    cfg = RMConfig(model=str(tiny_causal), out=tmp_path / "rm", lora_layers=1)
    model, tok = build_model(cfg)
    with torch.no_grad():  # LoRA B starts at 0: move it so LoRA gradients are not trivially 0
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.3)
    rows = [
        {"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}
        if p.prompt
        else {"chosen": p.chosen, "rejected": p.rejected}
        for p in PAIRS[:1] + PAIRS[2:]
    ]
    args = trl_config(  # transformers' current checkpointing names: no deprecation warning
        RewardConfig,
        dict(
            output_dir=str(tmp_path / "trl"), report_to=[], use_cpu=True, max_length=cfg.max_length
        ),
    )
    trainer = RewardTrainer(
        model=model, args=args, processing_class=tok, train_dataset=Dataset.from_list(rows)
    )
    trl_rows = [(r["chosen_ids"], r["rejected_ids"]) for r in trainer.train_dataset]
    ours = tokenize(tok, PAIRS[:1] + PAIRS[2:], cfg)
    assert trl_rows == [(list(a), list(b)) for a, b in ours]

    model.train()
    trl_batch = DataCollatorForPreference(pad_token_id=tok.pad_token_id)(
        [{"chosen_ids": a, "rejected_ids": b} for a, b in trl_rows]
    )
    trl_loss = trainer.compute_loss(model, dict(trl_batch))
    trl_loss.backward()
    trl_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad()
    our_loss, _ = bt_loss(model, collate(ours, tok.pad_token_id))
    our_loss.backward()
    assert float(our_loss.detach()) == pytest.approx(float(trl_loss.detach()), rel=1e-6)
    for name, grad in trl_grads.items():
        torch.testing.assert_close(model.get_parameter(name).grad, grad, rtol=1e-5, atol=1e-7)
    assert any(g.abs().sum() > 0 for n, g in trl_grads.items() if "lora_A" in n)
