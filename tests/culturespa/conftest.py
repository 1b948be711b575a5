"""Fixtures of the CultureSPA tests: the released generated questions and answers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("CULTUREALIGN_DATA", Path(__file__).parents[3] / "shared" / "data"))
RELEASE = DATA / "culturespa"
GENERATED = RELEASE / "data" / "Meta-Llama-3-8B-Instruct"
RESULTS = RELEASE / "result" / "Meta-Llama-3-8B-Instruct"


def released_questions(topic: int) -> list[dict]:
    path = GENERATED / f"generated_questions_topic_{topic}_from_all_seed.json"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return json.loads(path.read_text(encoding="utf-8"))


def released_answers(setting: str) -> list[dict]:
    path = RESULTS / f"wvs_result_{setting}_0.json"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return json.loads(path.read_text(encoding="utf-8"))
