"""The records an evaluation run writes, defined once: a per-item result and the run summary.

``items.jsonl`` holds one :class:`ItemRecord` per line: the fields every task writes (``id``,
``prompt``, ``choices``, ``target``) first, then the task's own fields in the order the task
gives them. :class:`JudgementItem`, :class:`SurveyItem` and :class:`NLIItem` name and type those
task fields; readers take a record through one of them (:func:`as_items`). ``summary.json`` is
a :class:`RunSummary`. The runner writes both only through this module and every reader
(tasks' metrics, the reports) reads them only through it; docs/records.md publishes the JSON
schema (:func:`json_schemas`).

:data:`SCHEMA_VERSION` counts changes to these layouts; it is written into ``summary.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Mode = Literal["choice", "generate"]


class ItemRecord(BaseModel):
    """One scored item: the prompt, the choices, the gold target, then the task's fields."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="item id, unique within the run")
    prompt: str = Field(description="the full prompt as the model saw it (chat template applied)")
    choices: list[str] = Field(
        description="the answers scored in choice mode (also listed in generate mode)"
    )
    target: Any = Field(
        None, description="gold answer: label index, majority option, or None without one"
    )

    def get(self, name: str, default: Any = None) -> Any:
        """A task field by name (``default`` when this record has none)."""
        if name in type(self).model_fields:
            return getattr(self, name)
        return (self.model_extra or {}).get(name, default)

    def to_json(self) -> dict[str, Any]:
        """The record as written: common fields first, the task's fields in their order."""
        return self.model_dump()

    def to_line(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False) + "\n"


class JudgementItem(ItemRecord):
    """An item of the moral-judgement tasks (jcm, ethics, judgement)."""

    pair: int | None = Field(None, description="minimal-pair index (JCM); both members share it")
    text: str = Field(description="the situation judged")
    prediction: int | None = Field(
        description="predicted label; None when a generated answer did not parse"
    )
    correct: bool = Field(description="prediction == target (N/A counts as wrong)")
    logprobs: list[float] | None = Field(None, description="choice mode: one per choice")
    output: str | None = Field(None, description="generate mode: the generated text")


class SurveyItem(ItemRecord):
    """An item of the survey tasks (wvs-culturespa, globalopinionqa)."""

    question: str = Field(description="question id")
    country: str = Field(description='the persona\'s country; "-" for culture-unaware')
    persona: Literal["unaware", "aware"] = Field(description="culture-unaware or -aware prompt")
    prediction: int | None = Field(
        description="option index; None when a generated answer did not parse"
    )
    answer: int | None = Field(None, description="the option's numeric code (WVS), if it has one")
    probs: list[float] | None = Field(None, description="choice mode: option distribution")
    logprobs: list[float] | None = Field(None, description="choice mode: one per option")
    output: str | None = Field(None, description="generate mode: the generated text")


class NLIItem(ItemRecord):
    """An item of culturally aware NLI (cali)."""

    item: str = Field(description="CALI item id (the record id adds the group)")
    group: str = Field(description="persona group (US, IN)")
    majority: str = Field(description="that group's majority label")
    premise: int = Field(description="premise index; cross-validation folds group by it")
    p_entail: float = Field(description="P(entail) renormalised over E, N, C")
    prediction: int = Field(description="index into E, N, C")
    probs: list[float] = Field(description="E, N, C probabilities")
    logprobs: list[float] = Field(description="E, N, C log-probabilities")


Item = TypeVar("Item", bound=ItemRecord)


def as_items(records: Iterable[ItemRecord | Mapping[str, Any]], kind: type[Item]) -> list[Item]:
    """``records`` (records or their JSON dicts) read as ``kind``, checking the task fields."""
    out = []
    for r in records:
        out.append(kind.model_validate(r.to_json() if isinstance(r, ItemRecord) else dict(r)))
    return out


def read_items(path: Path) -> list[ItemRecord]:
    """Every record of a finished run's ``items.jsonl`` (a later line with the same id wins)."""
    by_id: dict[str, ItemRecord] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line:
            record = ItemRecord.model_validate(json.loads(line))
            by_id.pop(record.id, None)
            by_id[record.id] = record
    return list(by_id.values())


class TaskRef(BaseModel):
    """Which task was run: its name, version (bumped on score-moving changes) and options."""

    name: str
    version: int
    args: dict[str, Any]


class RunSummary(BaseModel):
    """``summary.json``: what was run, on which data and model, and the metrics.

    ``metrics`` maps a metric name to an estimate ``{"value", "ci_low", "ci_high"}`` (a
    proportion, 0..1), a plain number, or a task's breakdown (``per_country`` ...).
    """

    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    task: TaskRef
    dataset: dict[str, Any] = Field(description="name, split, size, source, sha256, notes, ...")
    model: dict[str, Any] = Field(
        description="the backend's ModelInfo: name, path, adapter, dtype, ..."
    )
    mode: Mode
    generation: dict[str, Any] | None = Field(description="sampling settings in generate mode")
    table_columns: list[str]
    item_value: str = Field(
        "correct", description="the per-item field whose mean is table_columns[0]"
    )
    n_items: int
    metrics: dict[str, Any]
    generation_departs_from_task: dict[str, dict[str, Any]] | None = None
    environment: dict[str, Any] = Field(description="versions and machine")
    work: dict[str, Any] = Field(
        description="what this process computed (a resumed run covers only its items)"
    )

    def metric(self, name: str) -> dict[str, float] | None:
        """The estimate ``{"value", "ci_low", "ci_high"}`` of a metric, or None."""
        value = self.metrics.get(name)
        return value if isinstance(value, dict) and "value" in value else None

    def to_json(self) -> dict[str, Any]:
        """The summary as written (``generation_departs_from_task`` only when there are any)."""
        unset = {"generation_departs_from_task"} if not self.generation_departs_from_task else None
        return self.model_dump(exclude=unset)


def read_summary(path: Path) -> RunSummary:
    return RunSummary.model_validate(json.loads(path.read_text(encoding="utf-8")))


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON schema of each record type, as published in docs/records.md."""
    kinds: list[type[BaseModel]] = [ItemRecord, JudgementItem, SurveyItem, NLIItem, RunSummary]
    return {k.__name__: k.model_json_schema() for k in kinds}


def schema_markdown() -> str:
    """The generated part of docs/records.md: one JSON-schema block per record type."""
    parts = []
    for name, schema in json_schemas().items():
        text = json.dumps(schema, indent=2, ensure_ascii=False)
        parts.append(f"### {name}\n\n```json\n{text}\n```\n")
    return "\n".join(parts)


# -- formatting ---------------------------------------------------------------------------
def percent(value: float | None, signed: bool = False) -> str:
    """A proportion in percent with one decimal (``—`` for none); ``signed`` shows ``+``."""
    if value is None:
        return "—"
    return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"


def format_estimate(metric: Any, signed: bool = False) -> str:
    """``value [low, high]`` in percent for an estimate; plain numbers as they are; else ``—``.

    The one formatter of estimates for every table (results.md, reports); an estimate without
    an interval shows its value as both bounds.
    """
    if isinstance(metric, Mapping) and "value" in metric:
        value = metric["value"]
        low, high = metric.get("ci_low", value), metric.get("ci_high", value)
        return f"{percent(value, signed)} [{percent(low, signed)}, {percent(high, signed)}]"
    if isinstance(metric, int | float):
        return f"{metric:.4g}"
    return "—"
