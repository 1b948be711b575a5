"""The ``kind: culturespa`` experiment spec: one model, the five steps' settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from culturealign.culturespa.answer import AnswerSettings, check_countries
from culturealign.culturespa.generate import GenerateSettings
from culturealign.experiments.pipeline_run import load_pipeline_spec


class TrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    adapters: list[Literal["joint", "specific"]] = Field(
        default_factory=lambda: ["joint"],
        description="joint: one adapter on all countries; specific: one per country.",
    )
    sft: dict[str, Any] = Field(
        default_factory=dict, description="SFTConfig fields over its defaults (lora.r, ...)."
    )


class EvalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["choice", "generate"] = Field(
        "generate", description="generate: the paper's sampled answers; choice: option logprobs."
    )
    limit: int | None = Field(None, ge=1, description="Only the first N WVS questions.")


class CultureSPASpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["culturespa"]
    name: str
    description: str = ""
    paper: str = Field("", description="What the paper and the release state vs our choices.")
    model: str = Field(description="Embedded name, local folder, hub id or backend-prefixed id.")
    backend: str = "hf"
    model_options: dict[str, Any] = Field(default_factory=dict, description="load_model options.")
    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)
    evaluate: EvalSettings = Field(default_factory=EvalSettings)


def load_culturespa_spec(path: Path) -> CultureSPASpec:
    """Read and validate a spec; one clear error naming the field otherwise."""
    spec = load_pipeline_spec(path, CultureSPASpec, "docs/tasks/culturespa.md")
    check_countries(spec.answer.countries)
    return spec
