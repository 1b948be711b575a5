"""One frozen training-settings object, built once from the config and read by both engines."""

import dataclasses
from pathlib import Path

import pytest

from culturealign.alignment.config import DPOConfig, LoraSettings, SFTConfig
from culturealign.alignment.settings import TrainSettings


def test_settings_carry_the_config_values():
    cfg = DPOConfig(
        model="m", prefs=Path("p"), out=Path("o"), learning_rate=2e-4, grad_accum=3, max_steps=7
    )
    s = TrainSettings.from_config(cfg)
    for f in dataclasses.fields(TrainSettings):
        if f.name != "shuffle":
            assert getattr(s, f.name) == getattr(cfg, f.name), f.name
    assert s.shuffle and s.pairs_per_step == 12 and s.total_steps(100) == 7
    sft = TrainSettings.from_config(SFTConfig(model="m", data=Path("d"), out=Path("o")))
    assert (sft.scheduler, sft.lora) == ("cosine", LoraSettings(r=8, alpha=16))


def test_settings_and_config_are_frozen():
    cfg = DPOConfig(model="m", prefs=Path("p"), out=Path("o"))
    s = TrainSettings.from_config(cfg)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.learning_rate = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        cfg.beta = 0.5  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        cfg.lora.r = 2  # type: ignore[misc]


def test_trl_arguments_come_from_the_settings():
    from culturealign.alignment.trl_trainers import training_args

    s = TrainSettings(learning_rate=3e-4, batch_size=2, grad_accum=5, warmup_ratio=0.1)
    args = training_args(s, Path("out"), "cpu")
    assert (args["learning_rate"], args["per_device_train_batch_size"]) == (3e-4, 2)
    assert (args["gradient_accumulation_steps"], args["warmup_steps"]) == (5, 0.1)
    assert (args["use_cpu"], args["bf16"], args["max_steps"]) == (True, False, -1)
    assert "train_sampling_strategy" not in args
    args = training_args(dataclasses.replace(s, shuffle=False), Path("out"), "cuda:0")
    assert args["train_sampling_strategy"] == "sequential"
    assert (args["use_cpu"], args["bf16"]) == (False, True)


def test_extra_trl_arguments_reach_the_trl_config(tmp_path):
    """What the throughput benchmark's tuned arm relies on: extra fields pass through."""
    pytest.importorskip("trl")
    from culturealign.alignment.trl_trainers import trl_dpo_trainer
    from tests.alignment.conftest import tiny_model

    model, tok = tiny_model("smollm2-135m-instruct")
    rows = [{"prompt": "Is it wrong?", "chosen": " yes", "rejected": " no"}] * 2
    s = TrainSettings(learning_rate=1e-5, batch_size=2, lora=LoraSettings(r=4, alpha=8))
    trainer = trl_dpo_trainer(
        model, tok, rows, tmp_path, s, beta=0.2, save_strategy="no", dataloader_pin_memory=False
    )
    assert (trainer.args.beta, trainer.args.save_strategy) == (0.2, "no")
    assert trainer.args.dataloader_pin_memory is False
    assert trainer.args.learning_rate == 1e-5
