"""Fake experiment services: deterministic model, pair writer and trainer, no torch.

The fake model's answer depends on a hash of the prompt plus the adapter's ``bias``, so an
adapter changes predictions; the fake trainer derives ``bias`` from the pairs, the learning
rate, the seed and the step count, checkpoints every step and resumes from the last
checkpoint. ``FAKE_DELAY`` (seconds per item / step) slows it down so a test can kill it
mid-stage. Run as a script, it is the runner process that the kill test kills.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from culturealign.data.records import JudgementSet
from culturealign.experiments.services import ADAPTER_DIR
from culturealign.experiments.spec import ModelSpec, PairsSpec
from culturealign.models.base import ModelInfo

CALLS: list[str] = []  # stage kinds actually run, in order (for cache tests in-process)


def _delay() -> float:
    return float(os.environ.get("FAKE_DELAY", "0"))


def _unit(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


class FakeModel:
    def __init__(self, spec: ModelSpec, adapter: Path | None) -> None:
        self.bias = 0.0
        sha = None
        if adapter is not None:
            raw = (adapter / "weights.json").read_bytes()
            self.bias, sha = json.loads(raw)["bias"], hashlib.sha256(raw).hexdigest()
        self.info = ModelInfo(
            spec.id, "fake", spec.id, adapter=str(adapter) if adapter else None, adapter_sha256=sha
        )

    @property
    def is_chat(self) -> bool:
        return False

    def render_chat(self, messages) -> str:
        raise NotImplementedError

    def choice_logprobs(self, requests, progress=None) -> list[list[float]]:
        out = []
        for r in requests:
            time.sleep(_delay())
            base = _unit(r.prefix + r.text)
            out.append([base, 0.5 + self.bias * (1 if "wrong" in r.text else -1)][: len(r.choices)])
            if progress:
                progress(1)
        return out

    def generate(self, prompts, config, progress=None) -> list[str]:
        raise NotImplementedError


class FakeServices:
    def load(self, model: ModelSpec, adapter: Path | None) -> FakeModel:
        return FakeModel(model, adapter)

    def pairs_version(self) -> str:
        return "fake-pairs-1"

    def build_pairs(self, data: JudgementSet, pairs: PairsSpec, model: Any, out: Path) -> int:
        CALLS.append("pairs")
        with out.open("w", encoding="utf-8") as fh:
            for it in data.items:
                row = {"prompt": it.text, "chosen": str(it.label), "rejected": str(1 - it.label)}
                fh.write(json.dumps(row) + "\n")
        return len(data.items)

    def training_identity(self, model: ModelSpec, config: dict[str, Any]) -> dict[str, Any]:
        return {"learning_rate": 1e-5, "max_steps": 3, **config}

    def translation_identity(self, translation: Any) -> dict[str, Any]:
        from culturealign.experiments.services import LibraryServices

        return LibraryServices().translation_identity(translation)

    def translate(self, data: JudgementSet, translation: Any, out: Path, progress: Any) -> None:
        # The real translation path: the tests give it a tiny local seq2seq model.
        from culturealign.experiments.services import LibraryServices

        CALLS.append("translate")
        LibraryServices().translate(data, translation, out, progress)

    def train(self, model: ModelSpec, prefs: Path, config: dict[str, Any], out: Path, console):
        CALLS.append("train")
        cfg = self.training_identity(model, config)
        adapter = out / ADAPTER_DIR
        adapter.mkdir(exist_ok=True)
        checkpoints = sorted(adapter.glob("ckpt-*.json"))
        state = json.loads(checkpoints[-1].read_text()) if checkpoints else {"step": 0, "bias": 0}
        pairs = prefs.read_text(encoding="utf-8").splitlines()
        while state["step"] < cfg["max_steps"]:
            time.sleep(_delay())
            pair = pairs[state["step"] % len(pairs)]
            noise = _unit(f"{pair}{cfg['seed']}{state['step']}") - 0.5
            state = {
                "step": state["step"] + 1,
                "bias": state["bias"] + cfg["learning_rate"] * noise,
            }
            (adapter / f"ckpt-{state['step']:04d}.json").write_text(json.dumps(state))
        (adapter / "weights.json").write_text(json.dumps({"bias": round(state["bias"], 12)}))
        (adapter / "adapter_config.json").write_text("{}")


def main() -> None:
    """``python fakes.py SPEC OUT``: run an experiment with the fake services (for kill tests)."""
    from culturealign.experiments.executor import run_experiment
    from culturealign.experiments.spec import load_spec

    spec, out = Path(sys.argv[1]), Path(sys.argv[2])
    run_experiment(load_spec(spec), out, FakeServices())


if __name__ == "__main__":
    main()
