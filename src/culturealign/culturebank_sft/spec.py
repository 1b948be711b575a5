"""The ``kind: culturebank-sft`` spec: one model, CultureBank's two SFT stages, the evaluations.

What CultureBank states (Shi et al. 2024, arXiv 2404.15238, and ``finetuning/sft_mixtral.py``):
stage 1 trains on the knowledge descriptions; stage 2 on knowledge-augmented answers to the
grounded questions the model scored below 0.6; LoRA on q_proj/v_proj, r 8, alpha 16, dropout
0.05, lr 1e-4, cosine, weight decay 0.05, batch 1 x 16 accumulation, 8 epochs (the script's
usage line). Evaluation before/after on GlobalOpinionQA (1 - JSD) and CALI. Everything else
(who writes the augmented answers and with which prompt, stage 1's epochs, the demo's sizes)
is our choice and documented in docs/tasks/culturebank.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from culturealign.experiments.pipeline_run import load_pipeline_spec

# SFTConfig fields of CultureBank's recipe (the script's code and usage line).
CULTUREBANK_SFT: dict[str, Any] = {
    "epochs": 8,
    "learning_rate": 1e-4,
    "scheduler": "cosine",
    "weight_decay": 0.05,
    "batch_size": 1,
    "grad_accum": 16,
    "lora": {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"]},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroundedSettings(_Strict):
    """Step 1: the base model answers the grounded questions; a judge scores P(Yes)."""

    source: Literal["reddit", "tiktok"] = "reddit"
    full: bool = Field(False, description="The full release (download) instead of the subset.")
    questions: Path | None = Field(None, description="A built question set; default released.")
    limit: int | None = Field(None, ge=1, description="Only the first N behaviours.")
    judge: str | None = Field(None, description="Judge model spec; default the model itself.")
    max_new_tokens: int = Field(512, ge=1, description="Answer length (the paper: 512).")
    threshold: float = Field(
        0.6, ge=0, le=1, description="Questions scored below get augmented answers (paper: 0.6)."
    )


class AugmentSettings(_Strict):
    """Step 3: knowledge-augmented answers to the low-scoring questions (our prompt)."""

    teacher: str | None = Field(None, description="Model writing them; default the model itself.")
    max_new_tokens: int = Field(512, ge=1, description="Answer length (our choice: as step 1).")
    batch_size: int = Field(8, ge=1, description="Prompts per generate call (resume unit).")


class EvalSettings(_Strict):
    """Step 5: base vs the two-stage model on each task (task options as for `eval -T`)."""

    globalopinionqa: dict[str, Any] | None = Field(default_factory=dict)
    cali: dict[str, Any] | None = Field(default_factory=dict)
    grounded: bool = Field(True, description="Also re-score the grounded questions.")


class CultureBankSFTSpec(_Strict):
    kind: Literal["culturebank-sft"]
    name: str
    description: str = ""
    paper: str = Field("", description="What the paper states vs our choices.")
    model: str = Field(description="Embedded name, local folder or hub id (HF backend).")
    model_options: dict[str, Any] = Field(default_factory=dict, description="load_model options.")
    grounded: GroundedSettings = Field(default_factory=GroundedSettings)
    augment: AugmentSettings = Field(default_factory=AugmentSettings)
    stage1: dict[str, Any] = Field(default_factory=dict, description="SFTConfig over the recipe.")
    stage2: dict[str, Any] = Field(default_factory=dict, description="SFTConfig over the recipe.")
    evaluate: EvalSettings = Field(default_factory=EvalSettings)

    def sft(self, stage: int) -> dict[str, Any]:
        """CultureBank's recipe with this spec's overrides for stage 1 or 2 (LoRA merged)."""
        given = self.stage1 if stage == 1 else self.stage2
        lora = {**CULTUREBANK_SFT["lora"], **given.get("lora", {})}
        return {**CULTUREBANK_SFT, **given, "lora": lora}


def load_culturebank_sft_spec(path: Path) -> CultureBankSFTSpec:
    """Read and validate a spec; one clear error naming the field otherwise."""
    return load_pipeline_spec(path, CultureBankSFTSpec, "docs/tasks/culturebank.md")
