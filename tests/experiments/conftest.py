"""Tiny judgement files and specs for the experiment tests (no model, no shared data needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml


def _judgements(path: Path, n: int, salt: str) -> Path:
    lines = ["text,label"]
    for i in range(n):
        label = (i * 7 + len(salt)) % 2
        verb = "wrong" if label else "kind"
        lines.append(f"{salt} sentence {i} that is {verb} in case {i % 5},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def grid(tmp_path: Path) -> dict:
    """A spec dict: 2 baselines' worth of rows, a native and a translated set, 2 test sets."""
    data = tmp_path / "data"
    data.mkdir()
    train = _judgements(data / "train.csv", 12, "train")
    test_a = _judgements(data / "test_a.csv", 40, "alpha")
    test_b = _judgements(data / "test_b.csv", 30, "beta")
    return {
        "name": "tiny",
        "seed": 1,
        "models": [{"id": "fake-model"}],
        "baselines": [{"label": "no fine-tuning (3-shot)", "shots": 3}],
        "aligned_shots": 0,
        "training": {"learning_rate": 0.5, "max_steps": 3},
        "train_sets": [
            {"name": "NATIVE", "data": {"dataset": "file", "path": str(train), "language": "en"}},
            {
                "name": "NATIVE-JA",
                "data": {
                    "dataset": "file",
                    "path": str(train),
                    "translated": {"source_language": "en", "target_language": "ja"},
                },
                "training": {"learning_rate": -0.7},
            },
            {
                "name": "MISSING-EN",
                "data": {
                    "dataset": "jcm",
                    "translated": {"source_language": "ja", "target_language": "en"},
                },
            },
        ],
        "evaluations": [
            {"name": "A", "task": "judgement", "options": {"path": str(test_a)}},
            {"name": "B", "task": "judgement", "options": {"path": str(test_b), "limit": 24}},
        ],
    }


def write_spec(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path
