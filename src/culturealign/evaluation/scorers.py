"""Scorers map (sample, model output) to the fields of a per-item record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from culturealign.evaluation.task import Mode, Sample


@dataclass(frozen=True)
class ChoiceScorer:
    """Prediction = index of the choice with the highest log-probability."""

    mode: Mode = "choice"

    def __call__(self, sample: Sample, output: list[float]) -> dict[str, Any]:
        pred = max(range(len(output)), key=output.__getitem__)
        return {"logprobs": output, "prediction": pred, "correct": pred == sample.target}


@dataclass(frozen=True)
class GenerateScorer:
    """Prediction = ``parse(generated text)``; ``None`` (unparseable) counts as incorrect."""

    parse: Callable[[str], Any]
    mode: Mode = "generate"

    def __call__(self, sample: Sample, output: str) -> dict[str, Any]:
        pred = self.parse(output)
        return {"output": output, "prediction": pred, "correct": pred == sample.target}
