"""The fast path against TRL's DPOTrainer and against a plain full forward, same batch."""

import math

import pytest
import torch

from culturealign.alignment import lora, trl_trainers
from culturealign.alignment.config import LoraSettings
from culturealign.alignment.dpo_loss import dpo_loss
from culturealign.alignment.fast_dpo import (
    collate,
    pair_logps,
    reference_logps,
    tokenize_pair,
)
from culturealign.alignment.settings import TrainSettings
from culturealign.library_warnings import quiet_library_deprecations
from tests.alignment.conftest import perturb_lora, tiny_model

pytestmark = pytest.mark.integration  # needs the embedded models' tokenizers

MODELS = ["gemma-3-270m", "smollm2-135m-instruct"]
BETA = 1.0  # a random tiny model's log-ratios are small; a large beta keeps the loss off log 2


def _plain_logps(model, pair) -> tuple[float, float]:
    """Reference: one full forward per completion over prompt + completion."""
    out = []
    for completion in (pair.chosen, pair.rejected):
        ids = torch.tensor([pair.prompt + completion])
        logp = torch.log_softmax(model(input_ids=ids).logits, -1)[0]
        start = len(pair.prompt)
        out.append(sum(float(logp[start - 1 + j, t]) for j, t in enumerate(completion)))
    return out[0], out[1]


@pytest.mark.parametrize("name", MODELS)
def test_pair_logps_equal_plain_forward(name, jcm_pairs):
    model, tok = tiny_model(name)
    model = lora.wrap_lora(model, LoraSettings(r=4, alpha=8))
    perturb_lora(model)
    model.eval()
    # Vary the completion length so padding, the KV-cache tail and masking all get exercised.
    tokenized = [tokenize_pair(tok, p, append_eos=i % 2 == 0) for i, p in enumerate(jcm_pairs[:6])]
    with torch.no_grad():
        chosen, rejected = pair_logps(model, collate(tokenized, tok.pad_token_id))
        for i, t in enumerate(tokenized):
            plain = _plain_logps(model, t)
            assert chosen[i].item() == pytest.approx(plain[0], rel=1e-4, abs=1e-4)
            assert rejected[i].item() == pytest.approx(plain[1], rel=1e-4, abs=1e-4)


def _lora_grads(model) -> dict[str, torch.Tensor]:
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    model.zero_grad(set_to_none=True)
    return grads


@pytest.mark.parametrize(
    ("name", "softcap"),
    [("gemma-3-270m", None), ("gemma-3-270m", 2.0), ("smollm2-135m-instruct", None)],
)
def test_pair_logps_gradients_equal_plain_forward(name, softcap, jcm_pairs):
    """The joined LM head (one pass over prompt-end and tail states) and the completions in
    the prompt's forward change no gradient. In float64 the value agrees to 1e-10 and the
    gradients to 5e-7 (measured 1.5e-7 to 2.6e-7 with the cached path or without: float32-level
    differences between a padded, masked batch and the unpadded forward, the same before the
    completions joined the prompt's forward).

    Softcap 2.0 (gemma-2 style, stricter than any real model's) makes the tanh bite, so a
    head that skipped or misplaced it would fail.
    """
    model, tok = tiny_model(name)
    model = model.double()
    if softcap is not None:
        model.config.final_logit_softcapping = softcap
    model = lora.wrap_lora(model, LoraSettings(r=4, alpha=8))
    perturb_lora(model)
    model.eval()
    tokenized = [tokenize_pair(tok, p, append_eos=i % 2 == 0) for i, p in enumerate(jcm_pairs[:5])]
    weights = torch.linspace(0.5, 1.5, len(tokenized), dtype=torch.float64)

    chosen, rejected = pair_logps(model, collate(tokenized, tok.pad_token_id))
    assert chosen.dtype == torch.float64
    fast_value = (weights * (chosen - 0.3 * rejected)).sum()
    fast_value.backward()
    fast = _lora_grads(model)

    plain_value = torch.zeros((), dtype=torch.float64)
    for w, t in zip(weights, tokenized, strict=True):
        parts = []
        for completion in (t.chosen, t.rejected):
            ids = torch.tensor([t.prompt + completion])
            logp = torch.log_softmax(model(input_ids=ids).logits, -1)[0]
            idx = torch.arange(len(completion)) + len(t.prompt) - 1
            parts.append(logp[idx, torch.tensor(completion)].sum())
        plain_value = plain_value + w * (parts[0] - 0.3 * parts[1])
    plain_value.backward()
    plain = _lora_grads(model)

    assert fast_value.item() == pytest.approx(plain_value.item(), rel=1e-10, abs=1e-10)
    worst = 0.0
    for n, ref in plain.items():
        assert ref.norm() > 0, n
        worst = max(worst, ((fast[n] - ref).norm() / ref.norm()).item())
    assert worst < 5e-7, worst


def test_lm_head_runs_once_per_batch(jcm_pairs):
    """One head pass per batch, none for the shared prefix: over the real completion tokens only."""
    model, tok = tiny_model("smollm2-135m-instruct")
    model = lora.wrap_lora(model, LoraSettings(r=4, alpha=8))
    tokenized = [tokenize_pair(tok, p, append_eos=i % 2 == 0) for i, p in enumerate(jcm_pairs[:4])]
    batch = collate(tokenized, tok.pad_token_id)
    assert batch.prefix_ids.shape[1] > 0 and batch.completion_ids.shape[1] > 1
    rows: list[int] = []
    head = model.get_output_embeddings()
    hook = head.register_forward_hook(lambda _m, args, _out: rows.append(args[0].shape[0]))
    try:
        with torch.no_grad():
            pair_logps(model, batch)
    finally:
        hook.remove()
    real_tail = int(batch.completion_mask[:, 1:].sum())
    assert rows == [len(tokenized) + real_tail]


@pytest.mark.parametrize("name", MODELS)
def test_fast_path_loss_and_gradients_equal_trl(name, jcm_pairs, tmp_path):
    pairs = jcm_pairs[:4]
    model, tok = tiny_model(name)
    settings = TrainSettings(learning_rate=1e-5, batch_size=4, lora=LoraSettings(r=8, alpha=16))
    trainer = trl_trainers.trl_dpo_trainer(
        model, tok, [p.model_dump() for p in pairs], tmp_path, settings, beta=BETA
    )
    peft = trainer.model
    perturb_lora(peft, std=2.0)
    # Same tokens on both sides: our tokenization mirrors TRL's prompt/completion split.
    tokenized = [tokenize_pair(tok, p) for p in pairs]
    for row, t in zip(trainer.train_dataset, tokenized, strict=True):
        assert (row["prompt_ids"], row["chosen_ids"], row["rejected_ids"]) == tuple(t)

    peft.train()
    batch = next(iter(trainer.get_train_dataloader()))  # the whole 4-pair dataset
    with quiet_library_deprecations():  # TRL's own is_gradient_checkpointing read
        trl_loss = trainer.compute_loss(peft, batch)
    trl_loss.backward()
    trl_grads = {n: p.grad.clone() for n, p in peft.named_parameters() if p.requires_grad}
    peft.zero_grad(set_to_none=True)

    reference = reference_logps(peft, tokenized, tok.pad_token_id)
    chosen, rejected = pair_logps(peft, collate(tokenized, tok.pad_token_id))
    fast = dpo_loss(chosen, rejected, reference[:, 0], reference[:, 1], beta=BETA)
    fast.loss.backward()

    assert abs(trl_loss.item() - math.log(2)) > 3e-4  # policy differs from reference: a real test
    assert fast.loss.item() == pytest.approx(trl_loss.item(), rel=1e-4)
    worst = 0.0
    for n, p in peft.named_parameters():
        if p.requires_grad:
            ref = trl_grads[n]
            assert ref.norm() > 0, n
            worst = max(worst, ((p.grad - ref).norm() / ref.norm()).item())
    assert worst < 1e-4, worst


def test_reference_needs_a_peft_model():
    model, tok = tiny_model("smollm2-135m-instruct")
    with pytest.raises(TypeError, match="PEFT"):
        reference_logps(model, [], tok.pad_token_id)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("kernel", ["sdpa", "eager"])
@pytest.mark.parametrize("share_prefix", [True, False])
def test_joint_tail_forward_equals_split_and_plain(name, kernel, share_prefix, jcm_pairs):
    """Completions riding in the prompt's forward (4-D mask) give the log-probs and LoRA
    gradients of the two-forward path and of a plain forward, with and without a cached
    shared prefix, under both attention kernels that take a custom mask."""
    from culturealign.alignment import fast_dpo

    model, tok = tiny_model(name)
    model.set_attn_implementation(kernel)
    # float64 where it works: SDPA. Eager in float64 turns fully padded rows into NaN in
    # transformers' additive mask (the two-forward path, no shared prefix), so it runs float32.
    dtype = torch.float64 if kernel == "sdpa" else torch.float32
    model = model.to(dtype)
    close = 1e-10 if dtype == torch.float64 else 1e-5
    model = lora.wrap_lora(model, LoraSettings(r=4, alpha=8))
    perturb_lora(model)
    model.eval()
    tokenized = [tokenize_pair(tok, p, append_eos=i % 2 == 0) for i, p in enumerate(jcm_pairs[:5])]
    batch = collate(tokenized, tok.pad_token_id, share_prefix=share_prefix)
    assert (batch.prefix_ids.shape[1] > 0) == share_prefix and batch.completion_ids.shape[1] > 1
    assert fast_dpo._joint_fits(model.get_base_model(), batch)

    def run(joint: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        fits = fast_dpo._joint_fits
        fast_dpo._joint_fits = lambda *_: joint  # type: ignore[assignment]
        calls: list[int] = []
        hook = (
            model.get_base_model().get_decoder().register_forward_hook(lambda *_: calls.append(1))
        )
        try:
            chosen, rejected = pair_logps(model, batch)
        finally:
            fast_dpo._joint_fits = fits
            hook.remove()
        assert len(calls) == int(share_prefix) + (1 if joint else 2)
        (chosen.sum() - 0.3 * rejected.sum()).backward()
        return torch.stack([chosen, rejected], 1).detach(), _lora_grads(model)

    joint, joint_grads = run(True)
    split, split_grads = run(False)
    with torch.no_grad():
        plain = torch.tensor([_plain_logps(model, t) for t in tokenized], dtype=dtype)
    torch.testing.assert_close(joint, plain, atol=100 * close, rtol=100 * close)
    torch.testing.assert_close(joint, split, atol=close, rtol=close)
    for n, ref in split_grads.items():
        assert ref.norm() > 0, n
        assert ((joint_grads[n] - ref).norm() / ref.norm()).item() < 10 * close, n


def test_joint_forward_not_used_past_a_sliding_window(jcm_pairs):
    """A row longer than the sliding window keeps the two-forward path (transformers would
    apply a custom 4-D mask without the window)."""
    from culturealign.alignment import fast_dpo

    model, tok = tiny_model("gemma-3-270m")
    tokenized = [tokenize_pair(tok, p) for p in jcm_pairs[:3]]
    batch = collate(tokenized, tok.pad_token_id)
    assert fast_dpo._joint_fits(model, batch)
    model.config.sliding_window = batch.prefix_ids.shape[1] + batch.prompt_ids.shape[1] - 1
    assert not fast_dpo._joint_fits(model, batch)
    model.config.layer_types = ["full_attention"] * len(model.config.layer_types)
    assert fast_dpo._joint_fits(model, batch)
