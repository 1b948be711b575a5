"""Loop contracts: data order, resume after a kill equals an uninterrupted run, golden losses."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from culturealign.alignment.config import LoraSettings
from culturealign.alignment.curves import read_curves
from culturealign.alignment.fast_dpo import reference_logps, tokenize_pair
from culturealign.alignment.fast_trainer import (
    latest_checkpoint,
    step_indices,
    train_loop,
)
from culturealign.alignment.lora import adapter_state, wrap_lora
from culturealign.alignment.settings import TrainSettings
from tests.alignment.conftest import tiny_model

BETA = 0.1
GOLDEN = Path(__file__).parent / "golden" / "fast_dpo_tiny_smollm2.json"

SETTINGS = TrainSettings(
    epochs=3,
    max_steps=None,
    learning_rate=2e-2,
    batch_size=2,
    grad_accum=2,
    scheduler="linear",
    warmup_ratio=0.0,
    weight_decay=0.0,
    max_grad_norm=1.0,
    seed=7,
    save_every=2,
    keep_checkpoints=2,
)


def test_step_indices_cover_each_epoch_once():
    s = replace(SETTINGS, batch_size=3, grad_accum=1)
    epoch0 = [i for step in range(4) for i in step_indices(10, step, s)]
    assert sorted(epoch0) == list(range(10))  # 4 steps of 3 cover 10 pairs, last step short
    assert step_indices(10, 4, s) != step_indices(10, 0, s)  # epoch 1 is reshuffled
    assert step_indices(10, 5, s) == step_indices(10, 5, s)
    assert s.total_steps(10) == 12  # 4 steps per epoch, 3 epochs


def _setup(jcm_pairs):
    model, tok = tiny_model("smollm2-135m-instruct", seed=3)
    torch.manual_seed(3)
    model = wrap_lora(model, LoraSettings(r=4, alpha=8))
    tokenized = [tokenize_pair(tok, p) for p in jcm_pairs[:8]]
    return model, tok, tokenized, reference_logps(model, tokenized, tok.pad_token_id)


def _adapter(model):
    return {k: v.detach().clone() for k, v in adapter_state(model).items()}


@pytest.mark.integration
def test_resume_after_kill_equals_uninterrupted_run_and_golden_losses(jcm_pairs, tmp_path):
    model, tok, tokenized, ref = _setup(jcm_pairs)
    full = train_loop(
        model, tokenized, ref, tmp_path / "full", SETTINGS, tok.pad_token_id, beta=BETA
    )
    assert full["steps"] == 6
    expected = _adapter(model)
    losses = [r["loss"] for r in read_curves(tmp_path / "full" / "curves.jsonl")]

    class Killed(Exception):
        pass

    def kill_after_3(step, total, record):
        if step == 3:
            raise Killed

    model, tok, tokenized, ref = _setup(jcm_pairs)
    with pytest.raises(Killed):
        train_loop(
            model,
            tokenized,
            ref,
            tmp_path / "cut",
            SETTINGS,
            tok.pad_token_id,
            kill_after_3,
            beta=BETA,
        )
    assert latest_checkpoint(tmp_path / "cut").name == "step-0000002"

    model, tok, tokenized, ref = _setup(jcm_pairs)  # a fresh process: nothing kept in memory
    resumed = train_loop(
        model, tokenized, ref, tmp_path / "cut", SETTINGS, tok.pad_token_id, beta=BETA
    )
    assert resumed["resumed_from"] == 2
    for key, value in _adapter(model).items():
        torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-7)
    curve = read_curves(tmp_path / "cut" / "curves.jsonl")
    assert [r["step"] for r in curve] == [1, 2, 3, 4, 5, 6]
    assert [r["loss"] for r in curve] == pytest.approx(losses, rel=1e-5)

    # Golden trajectory (pinned model seed, data order seed, torch CPU fp32), as TRL's
    # tests/invariant: regenerate only for an intended change, with the reason in the commit.
    golden = json.loads(GOLDEN.read_text())
    assert losses == pytest.approx(golden["losses"], rel=golden["rel_tolerance"])
    assert losses[-1] < losses[0]


def test_fused_adamw_makes_the_per_tensor_loops_update():
    """The fused kernel (our default where torch has one) against torch's per-tensor loop."""
    import torch

    from culturealign.alignment.fast_trainer import adamw

    torch.manual_seed(0)
    shapes = [(64, 640), (640, 64), (1,)]
    fused = [torch.nn.Parameter(torch.randn(s)) for s in shapes]
    plain = [torch.nn.Parameter(p.detach().clone()) for p in fused]
    opt_fused, opt_plain = (
        adamw(fused, 1e-2, 0.01),
        torch.optim.AdamW(plain, 1e-2, weight_decay=0.01),
    )
    assert opt_fused.defaults["fused"] and not opt_plain.defaults["fused"]
    for _ in range(3):
        grads = [torch.randn(s) for s in shapes]
        for params, opt in ((fused, opt_fused), (plain, opt_plain)):
            for p, g in zip(params, grads, strict=True):
                p.grad = g.clone()
            opt.step()
    for a, b in zip(fused, plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
