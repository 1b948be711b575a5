"""Data-parallel DPO for real: 2 processes launched by ``accelerate launch`` (gloo on CPU).

2 processes of per-process batch 2 must take the same steps as 1 process of batch 4: the same
per-step losses and final LoRA weights (1e-4), with only rank 0 writing files. The model is a
2-layer random smollm2 with the real tokenizer (tests/alignment/conftest.py), saved to a folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from culturealign.alignment.distributed import Processes, process_group
from tests.alignment.conftest import tiny_model

pytestmark = pytest.mark.integration
STEPS = ["--max-steps", "3", "--save-every", "1", "--lr", "1e-2", "--threads", "1"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, jcm_pairs):
    from culturealign.alignment.prefs import write_pairs

    root = tmp_path_factory.mktemp("ddp")
    model, tokenizer = tiny_model("smollm2-135m-instruct")
    model.save_pretrained(root / "tiny")
    tokenizer.save_pretrained(root / "tiny")
    write_pairs(root / "p.jsonl", jcm_pairs)
    return root


def _train(root: Path, out: str, batch: int, processes: int, *extra: str) -> None:
    args = ["train", "dpo", "--model", str(root / "tiny"), "--prefs", str(root / "p.jsonl"),
            "--out", str(root / out), "--device", "cpu", "--batch-size", str(batch), *STEPS,
            *extra]  # fmt: skip
    if processes == 1:
        cmd = [sys.executable, "-m", "culturealign", *args]
    else:  # accelerate's torchrun launcher (its --cpu flag alone starts one process)
        launcher = Path(sys.executable).with_name("accelerate")
        cmd = [str(launcher), "launch", "--multi_gpu", "--num_processes", str(processes),
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "-m", "culturealign", *args]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]


def _curves(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "curves.jsonl").read_text().splitlines()]


def _adapter(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def _assert_same_run(a: Path, b: Path, weight_tol: float = 1e-4) -> None:
    ca, cb = _curves(a), _curves(b)
    assert [r["step"] for r in ca] == [r["step"] for r in cb] == [1, 2, 3]
    for ra, rb in zip(ca, cb, strict=True):
        for key in ("loss", "reward_accuracy", "margin", "grad_norm", "epoch", "lr"):
            assert ra[key] == pytest.approx(rb[key], abs=1e-4), (ra["step"], key)
    wa, wb = _adapter(a), _adapter(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert (wa[name] - wb[name]).abs().max().item() < weight_tol, name


def test_two_processes_equal_one_with_double_batch(setup):
    _train(setup, "one", 4, 1)
    _train(setup, "two", 2, 2)
    # Losses, margins and gradient norms agree to 1e-4 at every step. The adapters agree to a
    # fifth of one step's largest update (lr 1e-2): splitting the batch over two processes
    # changes float summation order, and AdamW divides each gradient element by its running
    # RMS, so near-zero elements carry that rounding into their updates (measured 1.9e-4 to
    # 3.3e-4 on a 2-core AMD EPYC, below 1e-4 on an Intel Xeon). A sharding bug moves them by
    # the lr itself.
    _assert_same_run(setup / "one", setup / "two", weight_tol=2e-3)
    # The weights moved (lr 1e-2, 3 steps): equal adapters are not two untouched ones.
    assert max(t.abs().max().item() for n, t in _adapter(setup / "two").items() if "lora_B" in n)
    manifest = json.loads((setup / "two" / "training_manifest.json").read_text())
    assert manifest["summary"]["processes"] == 2 and manifest["summary"]["steps"] == 3
    ckpts = sorted(p.name for p in (setup / "two" / "checkpoints").iterdir())
    assert ckpts == ["step-0000001", "step-0000002"]  # rank 0 alone: no stray .tmp folders


@pytest.mark.slow
def test_two_processes_resume_after_a_kill(setup):
    if not (setup / "two").exists():
        _train(setup, "two", 2, 2)
    killed = setup / "killed"
    shutil.copytree(setup / "two", killed)
    config = json.loads((killed / "training_config.json").read_text())
    (killed / "training_config.json").write_text(json.dumps(config | {"out": str(killed)}))
    # What a kill during step 2 leaves: checkpoint 1, curve rows 1-2, no adapter or manifest.
    shutil.rmtree(killed / "checkpoints" / "step-0000002")
    for name in ("adapter_model.safetensors", "adapter_config.json", "training_manifest.json"):
        (killed / name).unlink()
    _train(setup, "killed", 2, 2, "--resume")
    _assert_same_run(setup / "two", killed)
    manifest = json.loads((killed / "training_manifest.json").read_text())
    assert manifest["summary"]["resumed_from"] == 1


def test_single_process_is_rank_0_of_1(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert process_group() == Processes()
    procs = Processes(rank=1, world=2)
    assert procs.share(list(range(5))) == [3, 4] and not procs.is_main
    assert Processes(rank=0, world=2).share(list(range(5))) == [0, 1, 2]


@pytest.mark.slow
def test_trl_engine_two_processes_equal_fast_engine_one(setup):
    """TRL's Trainer runs the data parallelism itself (accelerate): 2 x batch 2 there takes the
    steps the fast engine takes with 1 x batch 4 (the same seeded pair order, the same maths)."""
    if not (setup / "one").exists():
        _train(setup, "one", 4, 1)
    _train(setup, "trl_two", 2, 2, "--engine", "trl")
    for a, b in zip(_curves(setup / "one"), _curves(setup / "trl_two"), strict=True):
        # Not reward accuracy: at step 1 every margin is ~0 (LoRA B = 0), so it counts ties.
        for key in ("loss", "margin", "grad_norm"):
            assert a[key] == pytest.approx(b[key], abs=1e-4), (a["step"], key)
    assert (
        json.loads((setup / "trl_two" / "training_manifest.json").read_text())["summary"][
            "processes"
        ]
        == 2
    )
