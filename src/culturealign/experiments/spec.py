"""The experiment spec: models x training sets x evaluation tasks, as a validated YAML file.

A spec is data, not a language: it names things and their settings, and every field is
checked by pydantic with ``extra="forbid"``, so a typo is an error that names the file and the
field, never a silently ignored key. Duplicate YAML keys are rejected too (PyYAML would keep
the last one without a word).

The grid it describes is the study's Table 3 (Jinnai, 2024): one row per baseline ("no
fine-tuning (3-shot)") and per training set (JCM, JCM-EN, ETHICS-JA, ETHICS), one column per
evaluation (JCM, ETHICS test accuracy), one table per model.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from culturealign.errors import CultureAlignError

Language = Literal["ja", "en"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """One model to evaluate and align."""

    id: str = Field(description="Embedded model name, local transformers folder or hub id.")
    label: str | None = Field(None, description="Name shown in reports (default: the id).")
    threads: int | None = Field(None, ge=1, description="CPU threads (default: free cores).")
    dtype: str | None = Field(None, description="torch dtype, e.g. bfloat16 (default: auto).")
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit).")

    @property
    def name(self) -> str:
        return self.label or self.id

    @field_validator("id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        from culturealign.models.registry import split_options

        # '#dtype=' works for eval, not for the training stages every experiment has.
        if split_options(value)[1]:
            raise ValueError(f"{value!r}: give the plain model id and set its dtype field instead")
        return value


class TranslationSpec(_Strict):
    """Declares that a training set is a machine translation of another dataset."""

    source_language: Language = Field(description="Language of the original dataset.")
    target_language: Language = Field(description="Language it was translated into.")
    translator: str | None = Field(
        None,
        description="Translate in a cached `translate` stage with this translator: "
        "`seq2seq:<id>` (HF seq2seq, beam search; the study: facebook/wmt21-dense-24-wide-x-en "
        "/ -en-x) or `lm:<id>` (a culturealign model, few-shot). Unset: give data.path.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Translator options: beams, batch_size, max_length (seq2seq; defaults "
        "5, 8, 256 as the study) or max_new_tokens, batch_size (lm), threads.",
    )
    back_translator: str | None = Field(
        None, description="Translator for the round-trip check's way back (default: translator)."
    )
    check_sample: int = Field(
        50, ge=0, description="Sentences in the round-trip chrF/BLEU check reported beside the row."
    )


class DataSpec(_Strict):
    """Where the labelled judgements of a training set come from."""

    dataset: Literal["jcm", "ethics", "file"] = Field(
        description="jcm, ethics, or a generic CSV/JSONL judgement 'file'."
    )
    split: str = Field("train", description="Dataset split (jcm/ethics).")
    limit: int | None = Field(None, ge=1, description="Use only the first N items.")
    path: Path | None = Field(
        None,
        description="Local file: the data for 'file', or a translated copy for a translated set "
        "(relative paths are relative to the spec file).",
    )
    translated: TranslationSpec | None = Field(
        None,
        description="This set is `dataset` machine-translated: by `translated.translator` in a "
        "cached stage, or read from `path` (your own translation).",
    )
    text_column: str = Field("text", description="Text column of a file.")
    label_column: str = Field("label", description="Label column of a file.")
    label_values: dict[str, int] | None = Field(
        None, description="Raw label -> 1 (wrong) / 0 (not wrong), e.g. {unacceptable: 1}."
    )
    language: Language | None = Field(None, description="Language of a 'file' dataset.")

    @model_validator(mode="after")
    def _file_needs_path(self) -> DataSpec:
        if self.dataset == "file" and self.path is None:
            raise ValueError("dataset 'file' needs a path")
        return self


class PairsSpec(_Strict):
    """How preference pairs are built from the labelled judgements."""

    method: Literal["from_labels"] = Field(
        "from_labels", description="chosen = the correct judgement, rejected = the wrong one."
    )
    prompt_language: Language = Field(
        "ja", description="Prompt language; the study asks in Japanese for every dataset."
    )


class TrainSetSpec(_Strict):
    """One aligned row of the table: a dataset, its pairs, and a training config."""

    name: str = Field(description="Row label, e.g. JCM-EN.")
    data: DataSpec = Field(description="The labelled judgements (DataSpec).")
    pairs: PairsSpec = Field(PairsSpec(), description="How pairs are built (PairsSpec).")
    training: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the experiment-wide training config for this set.",
    )


class BaselineSpec(_Strict):
    """A row without fine-tuning, evaluated with ``shots`` few-shot examples."""

    label: str = Field(description="Row label, e.g. 'no fine-tuning (3-shot)'.")
    shots: int = Field(ge=0, description="Few-shot examples in the prompt.")


class EvaluationSpec(_Strict):
    """One column of the table: a registered task and its options."""

    name: str = Field(description="Column label, e.g. JCM.")
    task: str = Field(description="Registered task name (see `culturealign tasks`).")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Task options except shots (set per row), e.g. {protocol: jinnai2024} for "
        "the study's sampled answers.",
    )
    max_new_tokens: int | None = Field(
        None,
        ge=1,
        description="Generation length (generate mode only; default: the task's protocol, else 8).",
    )


class ExperimentSpec(_Strict):
    """Models x (baselines + training sets) x evaluations."""

    kind: Literal["grid"] = Field(
        "grid", description="Spec kind: this grid (other kinds are pipelines, see kinds.py)."
    )
    name: str = Field(description="Run name (default run folder: runs/<name>).")
    description: str = Field("", description="One paragraph shown at the top of the report.")
    seed: int = Field(0, description="Seed for training (pairs order, LoRA init, dropout).")
    models: Annotated[
        list[ModelSpec], Field(min_length=1, description="One table per model (ModelSpec).")
    ]
    baselines: list[BaselineSpec] = Field(
        default_factory=lambda: [BaselineSpec(label="no fine-tuning (3-shot)", shots=3)],
        description="Rows without fine-tuning; the first with aligned_shots shots is the "
        "reference for changes, flips and significance tests (so a comparison never mixes "
        "shot counts), else the first.",
    )
    aligned_shots: int = Field(
        0, ge=0, description="Few-shot examples when evaluating aligned models (study: 0)."
    )
    training: dict[str, Any] = Field(
        default_factory=dict,
        description="DPO config shared by every training set (DPOConfig fields, "
        "docs/alignment.md); unset fields keep the study's defaults.",
    )
    train_sets: list[TrainSetSpec] = Field(
        default_factory=list, description="Aligned rows (TrainSetSpec)."
    )
    evaluations: Annotated[
        list[EvaluationSpec], Field(min_length=1, description="Columns (EvaluationSpec).")
    ]

    @model_validator(mode="after")
    def _unique_names(self) -> ExperimentSpec:
        rows = [b.label for b in self.baselines] + [t.name for t in self.train_sets]
        for what, names in (
            ("row (baseline label / train set name)", rows),
            ("evaluation name", [e.name for e in self.evaluations]),
            ("model label", [m.name for m in self.models]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {what}: {', '.join(dupes)}")
        return self

    def reference_baseline(self) -> BaselineSpec | None:
        """The baseline aligned rows are compared with: same shot count, else the first."""
        same = [b for b in self.baselines if b.shots == self.aligned_shots]
        return (same or self.baselines or [None])[0]

    def training_config(self, train_set: TrainSetSpec) -> dict[str, Any]:
        """The experiment-wide training config with the set's overrides applied."""
        return {**self.training, **train_set.training}


SHIPPED_DIR = Path(__file__).parent / "specs"  # package data; experiments/ links here


def shipped_specs() -> dict[str, Path]:
    """The specs installed with culturealign, by name (``demo``, ``jinnai2024_table3``)."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.yaml"))}


def find_spec(given: Path) -> Path:
    """``given`` if it is a file, else the shipped spec of that bare name (``demo``)."""
    shipped = shipped_specs()
    if given.is_file() or given.suffix or str(given) not in shipped:
        return given  # load_spec names a missing file
    return shipped[str(given)]


def load_spec(path: Path) -> ExperimentSpec:
    """Read and validate a spec file; every problem is a CultureAlignError naming file and field."""
    if not path.is_file():
        raise CultureAlignError(
            f"experiment spec not found: {path}",
            "give a YAML file or a shipped spec's name: " + ", ".join(shipped_specs()),
        )
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise CultureAlignError(f"{path}: not valid YAML ({exc})", "fix the YAML syntax") from exc
    if not isinstance(raw, dict):
        raise CultureAlignError(f"{path}: expected a mapping at the top level", "see docs")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise CultureAlignError(_describe(path, exc), "see docs/experiments.md") from exc
    spec = _resolve_paths(spec, path.parent)
    _check_tasks(path, spec)
    return spec


def _describe(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{path}: {where}: {msg}")
    return "invalid experiment spec\n" + "\n".join(lines)


def _resolve_paths(spec: ExperimentSpec, base: Path) -> ExperimentSpec:
    # Relative data paths mean "next to the spec", so a spec and its files move together.
    sets = []
    for ts in spec.train_sets:
        if ts.data.path is not None and not ts.data.path.is_absolute():
            data = ts.data.model_copy(update={"path": (base / ts.data.path).resolve()})
            ts = ts.model_copy(update={"data": data})
        sets.append(ts)
    return spec.model_copy(update={"train_sets": sets})


def _check_tasks(path: Path, spec: ExperimentSpec) -> None:
    # Check task names and option names now, so a typo fails before hours of training.
    from culturealign.evaluation import registered_tasks

    tasks = registered_tasks()
    for n, ev in enumerate(spec.evaluations):
        where = f"{path}: evaluations.{n}"
        if ev.task not in tasks:
            raise CultureAlignError(
                f"{where}.task: unknown task {ev.task!r}", f"choose one of: {', '.join(tasks)}"
            )
        params = inspect.signature(tasks[ev.task]).parameters
        if "shots" in ev.options:
            raise CultureAlignError(
                f"{where}.options.shots: shots are set per row",
                "use baselines[].shots and aligned_shots",
            )
        unknown = [k for k in ev.options if k not in params]
        if unknown:
            raise CultureAlignError(
                f"{where}.options: task {ev.task!r} does not take {', '.join(unknown)}",
                f"it takes: {', '.join(p for p in params if p != 'shots')}",
            )


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a mapping with the same key twice."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def reference_markdown() -> str:
    """The spec's fields as Markdown tables, from the one ``Field(description=...)`` each."""
    sections = []
    for model in (
        ExperimentSpec,
        ModelSpec,
        BaselineSpec,
        TrainSetSpec,
        DataSpec,
        TranslationSpec,
        PairsSpec,
        EvaluationSpec,
    ):
        lines = [f"**{model.__name__}**: {model.__doc__}", "", "| field | default | meaning |"]
        lines.append("|---|---|---|")
        for name, info in model.model_fields.items():
            default = "required" if info.is_required() else _default_text(info)
            lines.append(f"| `{name}` | {default} | {info.description or ''} |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def _default_text(info: Any) -> str:
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(see below)"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "; ".join(str(v.model_dump()) for v in value)
    return f"`{value!r}`"
