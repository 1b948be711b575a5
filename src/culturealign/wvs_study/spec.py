"""``kind: wvs-study`` specs: a question set, the models to compare, an optional distillation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from culturealign.errors import CultureAlignError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudyModel(_Strict):
    """One model of the comparison."""

    id: str = Field(description="Embedded model name, local transformers folder or hub id.")
    label: str | None = Field(None, description="Name in tables (default: the id).")
    backend: str = Field("hf", description="Model backend (hf, llamacpp, openai, ...).")
    family: str | None = Field(None, description="Grouping shown in docs (size, corpus, tuning).")
    threads: int | None = Field(None, ge=1, description="CPU threads (default: free cores).")
    dtype: str | None = Field(None, description="torch dtype (default: auto).")

    @property
    def name(self) -> str:
        return self.label or self.id

    def load_options(self) -> dict[str, Any]:
        return {k: v for k, v in (("threads", self.threads), ("dtype", self.dtype)) if v}


class StudyData(_Strict):
    """The questions and countries asked."""

    source: Literal["culturespa", "official"] = Field(
        "culturespa",
        description="culturespa: the 18 countries that ship; official: a `wvs prepare` folder.",
    )
    prepared: Path | None = Field(None, description="Folder written by `culturealign wvs prepare`.")
    countries: list[str] | None = Field(None, description="ISO alpha-3 codes (default: all).")
    questions: list[str] | None = Field(None, description="Question ids (default: all).")
    limit: int | None = Field(None, ge=3, description="Only the first N questions.")


class DistillSpec(_Strict):
    """Teacher -> SFT data -> student LoRA; r before/after on held-out questions."""

    teacher: StudyModel
    student: StudyModel
    holdout: float = Field(0.5, gt=0, lt=1, description="Share of questions held out (by id).")
    seed: int = Field(0, description="Seed of the question split.")
    epochs: float = Field(2.0, gt=0)
    learning_rate: float = Field(2e-4, gt=0)
    batch_size: int = Field(8, ge=1)
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    max_steps: int | None = Field(None, ge=1)


class StudySpec(_Strict):
    """A ``kind: wvs-study`` spec."""

    kind: Literal["wvs-study"]
    name: str = Field(description="Run name (default run folder: runs/<name>).")
    description: str = ""
    paper: str | None = Field(None, description="What the spec reproduces and how faithfully.")
    data: StudyData = Field(default_factory=StudyData)
    prompt: Literal["culturespa", "culturebank"] = "culturespa"
    mode: Literal["choice", "generate"] = "choice"
    western: list[str] | None = Field(None, description="Western countries (default: ours).")
    models: list[StudyModel] = Field(default_factory=list)
    distill: DistillSpec | None = None


def load_study_spec(path: Path) -> StudySpec:
    """Read and validate a study spec; problems name the file and field."""
    if not path.is_file():
        raise CultureAlignError(f"experiment spec not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec = StudySpec.model_validate(raw)
    except yaml.YAMLError as exc:
        raise CultureAlignError(f"{path}: not valid YAML ({exc})", "fix the YAML syntax") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CultureAlignError(
            f"{path}: {where}: {first['msg']}", "see docs/tasks/wvs.md"
        ) from exc
    labels = [m.name for m in spec.models]
    if len(set(labels)) != len(labels):
        raise CultureAlignError(f"{path}: two models share a label", "give each model a label")
    if not spec.models and spec.distill is None:
        raise CultureAlignError(f"{path}: nothing to run", "list models and/or a distill block")
    return spec
