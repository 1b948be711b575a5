"""Kill and resume through the CLI for the TRL-backed recipes (DPO ``--engine trl`` and SFT).

A real run of the embedded smollm2-135m-instruct in a subprocess is SIGKILLed once its second
checkpoint is on disk; the second checkpoint is then torn (its ``trainer_state.json``, which
``Trainer`` writes last, removed), as a kill during that save would leave it. The same command is
run again with ``--resume``: it must continue from the last complete checkpoint (step 1), redo
step 2 without logging it twice, and end where an uninterrupted run ends: same per-step losses,
same adapter weights. Unit tests of the checkpoint lookup and the refusal to restart over a
killed run come first; they need no model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from culturealign.alignment import trl_trainers
from culturealign.alignment.curves import read_curves
from culturealign.cli.train import train_app
from culturealign.errors import CultureAlignError

REPO = Path(__file__).resolve().parents[2]
STEPS = 4
app = typer.Typer()
app.add_typer(train_app, name="train")


def _fake_checkpoint(folder: Path, step: int, state: str | None) -> None:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"")
    if state is not None:
        (path / "trainer_state.json").write_text(state)


def test_last_checkpoint_is_the_newest_complete_one(tmp_path):
    assert trl_trainers.last_trl_checkpoint(tmp_path / "missing") is None
    for step in (9, 10):  # numeric order: checkpoint-10 is newer than checkpoint-9
        _fake_checkpoint(tmp_path, step, json.dumps({"global_step": step}))
    _fake_checkpoint(tmp_path, 11, None)  # killed before trainer_state.json was written
    _fake_checkpoint(tmp_path, 12, '{"global_st')  # killed while writing it
    assert trl_trainers.last_trl_checkpoint(tmp_path) == (tmp_path / "checkpoint-10", 10)


def test_dpo_refuses_to_restart_over_a_killed_trl_run(tmp_path):
    from culturealign.alignment.config import DPOConfig
    from culturealign.alignment.recipes import dpo_lora

    prefs = tmp_path / "prefs.jsonl"
    prefs.write_text('{"prompt": "p", "chosen": " a", "rejected": " b"}\n')
    cfg = DPOConfig(model="m", prefs=prefs, out=tmp_path / "run", engine="trl")
    (cfg.out / "training_config.json").parent.mkdir()
    (cfg.out / "training_config.json").write_text(cfg.model_dump_json())
    # Where TRL writes them: checkpoints/checkpoint-N (the old guard looked in cfg.out).
    _fake_checkpoint(cfg.out / "checkpoints", 3, json.dumps({"global_step": 3}))
    with pytest.raises(CultureAlignError, match="already holds"):
        dpo_lora.run(cfg, resume=False)


def _tiny() -> list[str]:
    # lr 1e-3 so a step visibly moves a rank-4 adapter: a wrong resume cannot hide in rounding.
    return [
        "--model", "smollm2-135m-instruct", "--lora-r", "4", "--lora-alpha", "8",
        "--threads", "2", "--batch-size", "2", "--max-steps", str(STEPS), "--save-every", "1",
        "--lr", "1e-3", "--seed", "3",
    ]  # fmt: skip


def _dpo_args(tmp_path: Path) -> list[str]:
    prefs = tmp_path / "prefs.jsonl"
    rows = [
        {"prompt": f"Q{i}: Is it wrong to {act}? Answer:", "chosen": " Yes", "rejected": " No"}
        for i, act in enumerate(["steal a bike", "lie to a friend", "cheat at cards", "litter"])
    ]
    prefs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return ["train", "dpo", "--prefs", str(prefs), "--engine", "trl"]


def _sft_args(tmp_path: Path) -> list[str]:
    data = tmp_path / "sft.jsonl"
    rows = [
        {"prompt": f"Q{i}: How do people greet in {place}?", "completion": f" They {how}."}
        for i, (place, how) in enumerate(
            [("Japan", "bow"), ("France", "kiss"), ("the US", "shake hands"), ("India", "namaste")]
        )
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # LoRA dropout on: the resumed run must also restore the RNG state the masks come from.
    return ["train", "sft", "--data", str(data), "--set", "lora.dropout=0.05"]


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "culturealign.cli", *args]


def _env() -> dict[str, str]:
    # Passive OpenMP workers: spinning ones make a step 5-10x slower on a shared CPU.
    return {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}


def _kill_at_checkpoint(cmd: list[str], out: Path, step: int) -> None:
    """Start ``cmd`` and SIGKILL it as soon as checkpoint ``step`` is complete."""
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    while not _complete(out / "checkpoints" / f"checkpoint-{step}"):
        if proc.poll() is not None:
            pytest.fail(f"run ended before checkpoint {step}: {proc.stderr.read().decode()}")
        assert time.monotonic() < deadline, f"no checkpoint {step} within 300 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL  # the kill landed, not a clean exit
    last = trl_trainers.last_trl_checkpoint(out / "checkpoints")
    assert last.step < STEPS and not (out / "adapter_model.safetensors").exists()  # mid-run


def _complete(checkpoint: Path) -> bool:
    try:
        json.loads((checkpoint / "trainer_state.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return True


def _adapter(out: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(out / "adapter_model.safetensors")


@pytest.mark.integration
@pytest.mark.parametrize("recipe", ["dpo", "sft"])
def test_kill_and_resume_equals_uninterrupted_run(recipe, tmp_path):
    import torch

    args = (_dpo_args if recipe == "dpo" else _sft_args)(tmp_path)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    result = CliRunner().invoke(app, [*args, "--out", str(clean), *_tiny()])
    assert result.exit_code == 0, (result.output, result.exception)

    cmd = _cli([*args, "--out", str(killed), *_tiny()])
    _kill_at_checkpoint(cmd, killed, step=2)
    (killed / "checkpoints" / "checkpoint-2" / "trainer_state.json").unlink()  # torn save

    # Without --resume the half-finished run is refused, not silently restarted over.
    refused = CliRunner().invoke(app, [*args, "--out", str(killed), *_tiny()])
    assert isinstance(refused.exception, CultureAlignError), refused.output
    assert "already holds" in str(refused.exception)

    resumed = subprocess.run(
        [*cmd, "--resume"], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    summary = json.loads((killed / "training_manifest.json").read_text())["summary"]
    assert summary["resumed_from"] == 1 and summary["steps"] == STEPS
    expected = read_curves(clean / "curves.jsonl")
    curve = read_curves(killed / "curves.jsonl")
    assert [r["step"] for r in curve] == list(range(1, STEPS + 1))  # step 2 redone, logged once
    assert [r["loss"] for r in curve] == pytest.approx([r["loss"] for r in expected], abs=2e-4)
    want, got = _adapter(clean), _adapter(killed)
    assert want.keys() == got.keys()
    assert any(v.abs().max() > 1e-4 for k, v in want.items() if "lora_B" in k)  # it trained
    for key, value in want.items():
        torch.testing.assert_close(got[key], value, rtol=1e-4, atol=1e-6)
