"""From a spec to a DAG of stages (pairs -> train -> evaluate) and the table cells they fill.

Each stage's key hashes everything that can change its output: the data file's sha256, the task
name, version and options, the model id, the resolved training config, and the keys of the
stages it depends on. A translated training set with a translator gets a ``translate`` stage
(keyed by the translator's id and settings and the source's sha256) before its pairs stage.
Inputs that cannot be had (a translated set with neither translator nor file, a data
file that is missing) turn their row or column into "not run: <reason>" cells instead of an
error, so the report shows every row the spec declares.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

from culturealign.data.records import JudgementSet
from culturealign.errors import CultureAlignError
from culturealign.evaluation.runner import resolve_generation
from culturealign.evaluation.task import Task
from culturealign.experiments.cache import stage_key
from culturealign.experiments.services import Services
from culturealign.experiments.spec import (
    DataSpec,
    EvaluationSpec,
    ExperimentSpec,
    ModelSpec,
    TrainSetSpec,
    TranslationSpec,
)


class ToTranslate(NamedTuple):
    """A training set still to be machine-translated: its source data and how."""

    source: JudgementSet
    translation: TranslationSpec


Kind = Literal["translate", "pairs", "train", "eval"]


@dataclass(frozen=True)
class Stage:
    """One node of the DAG. ``inputs`` is hashed into ``key``; ``params`` is what running needs."""

    kind: Kind
    key: str
    label: str
    model: ModelSpec
    inputs: dict[str, Any]
    deps: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Cell:
    """One table cell: the evaluation stage that fills it, or why it was not run."""

    model: str
    row: str
    column: str
    stage: str | None = None
    reason: str | None = None


class Row(NamedTuple):
    label: str
    kind: Literal["baseline", "aligned"]
    shots: int  # few-shot examples in the evaluation prompt


@dataclass
class Plan:
    spec: ExperimentSpec
    stages: dict[str, Stage]  # in a valid execution order (dependencies first)
    cells: list[Cell]
    notes: list[str]

    def rows(self) -> list[Row]:
        """One per row, in spec order: baselines first, then training sets."""
        return [Row(b.label, "baseline", b.shots) for b in self.spec.baselines] + [
            Row(t.name, "aligned", self.spec.aligned_shots) for t in self.spec.train_sets
        ]


def build_plan(spec: ExperimentSpec, services: Services) -> Plan:
    """Resolve data and tasks, and lay out every stage and cell of the experiment."""
    stages: dict[str, Stage] = {}
    cells: list[Cell] = []
    notes: list[str] = []
    shots = sorted({b.shots for b in spec.baselines} | {spec.aligned_shots})
    tasks = {(ev.name, s): _task_or_reason(ev, s) for ev in spec.evaluations for s in shots}
    for (column, _), task in tasks.items():
        if isinstance(task, Task):
            _add_notes(notes, f"test set {column}", task.dataset.get("notes", []))
    data = {ts.name: _data_or_reason(ts.data) for ts in spec.train_sets}
    for name, got in data.items():
        if isinstance(got, JudgementSet):
            _add_notes(notes, f"training set {name}", got.notes)
        elif isinstance(got, ToTranslate):
            _add_notes(notes, f"training set {name}", got.source.notes)
    for model in spec.models:
        for base in spec.baselines:
            cols = {ev.name: tasks[ev.name, base.shots] for ev in spec.evaluations}
            cells += _eval_cells(spec, model, base.label, None, cols, stages)
        for ts in spec.train_sets:
            cols = {ev.name: tasks[ev.name, spec.aligned_shots] for ev in spec.evaluations}
            got = data[ts.name]
            if isinstance(got, str):
                cells += [Cell(model.name, ts.name, c, reason=got) for c in cols]
                continue
            if isinstance(got, ToTranslate):
                got = _translate_stage(model, ts.name, got, services, stages)
            train = _train_stages(spec, model, ts, got, services, stages)
            cells += _eval_cells(spec, model, ts.name, train, cols, stages)
    return Plan(spec, _execution_order(spec, stages), cells, notes)


def _execution_order(spec: ExperimentSpec, stages: dict[str, Stage]) -> dict[str, Stage]:
    # Per model: baseline evaluations and every pairs stage while the base model is loaded,
    # then each training set's training and evaluations (its adapter stays loaded). A stable
    # sort keeps dependencies first within each group.
    models = [m.id for m in spec.models]

    def group(stage: Stage) -> tuple[int, int]:
        if stage.kind == "translate":  # model-independent, and its translator loads alone
            return -1, 0
        base = stage.kind == "pairs" or (stage.kind == "eval" and not stage.deps)
        return models.index(stage.model.id), 0 if base else 1

    return {s.key: s for s in sorted(stages.values(), key=group)}


def _add_notes(notes: list[str], where: str, new: list[str]) -> None:
    for note in new:
        if f"{where}: {note}" not in notes:
            notes.append(f"{where}: {note}")


def _model_identity(model: ModelSpec) -> dict[str, Any]:
    # Threads change speed, not results; they stay out of the key.
    return {"id": model.id, "revision": model.revision, "dtype": model.dtype}


def _task_or_reason(ev: EvaluationSpec, shots: int) -> Task | str:
    """The column's task for a row asked with ``shots`` examples (tasks without few-shot
    examples, such as the judged ones, are the same for every row)."""
    import inspect

    from culturealign.evaluation import build_task, registered_tasks

    takes_shots = "shots" in inspect.signature(registered_tasks()[ev.task]).parameters
    options = {**ev.options, "shots": shots} if takes_shots else dict(ev.options)
    try:
        return build_task(ev.task, options)
    except CultureAlignError as exc:
        return _reason(exc)


def _data_or_reason(data: DataSpec) -> JudgementSet | ToTranslate | str:
    from culturealign.data.judgements import load_judgement_file, load_named

    if data.translated and data.path is None:
        t = data.translated
        if t.translator is None or data.dataset == "file":
            return (
                f"needs {data.dataset} {data.split} translated {t.source_language}->"
                f"{t.target_language}: set data.translated.translator (e.g. lm:gemma-3-270m) "
                "or data.path to your own translation (text,label columns)"
            )
        try:
            return ToTranslate(load_named(data.dataset, data.split).head(data.limit), t)
        except CultureAlignError as exc:
            return _reason(exc)
    try:
        if data.dataset == "file" or data.path is not None:
            assert data.path is not None
            language = data.language or (
                data.translated.target_language if data.translated else "en"
            )
            got = load_judgement_file(
                data.path, data.text_column, data.label_column, data.label_values, language
            )
        else:
            got = load_named(data.dataset, data.split)
    except CultureAlignError as exc:
        return _reason(exc)
    return got.head(data.limit)


def _reason(exc: CultureAlignError) -> str:
    return exc.message + (f" (fix: {exc.hint})" if exc.hint else "")


def _translate_stage(
    model: ModelSpec, row: str, job: ToTranslate, services: Services, stages: dict[str, Stage]
) -> Stage:
    src = job.source
    try:
        translator = services.translation_identity(job.translation)
    except CultureAlignError as exc:
        raise CultureAlignError(f"data.translated of {src.name}: {exc.message}", exc.hint) from exc
    inputs = {
        "source": {"name": src.name, "split": src.split, "sha256": src.sha256, "n": len(src)},
        "translator": translator,
    }
    t = job.translation
    label = f"translate {src.name} {src.split} {t.source_language}->{t.target_language}"
    stage = Stage(
        "translate",
        stage_key("translate", inputs),
        f"{label} ({t.translator})",
        model,  # unused: a translate stage loads its own translator
        inputs,
        params={"data": src, "translation": t, "row": row},
    )
    return stages.setdefault(stage.key, stage)


def _train_stages(
    spec: ExperimentSpec,
    model: ModelSpec,
    ts: TrainSetSpec,
    data: JudgementSet | Stage,
    services: Services,
    stages: dict[str, Stage],
) -> Stage:
    translate = data if isinstance(data, Stage) else None
    if isinstance(data, Stage):
        n = len(data.params["data"])
        data_id: dict[str, Any] = {"translated": data.key, "n": n}
    else:
        data_id = {"name": data.name, "split": data.split, "sha256": data.sha256, "n": len(data)}
    pairs_inputs = {
        "model": _model_identity(model),  # chat models bake their template into the prompt
        "data": data_id,
        "pairs": ts.pairs.model_dump(),
        "builder": services.pairs_version(),
    }
    pairs = Stage(
        "pairs",
        stage_key("pairs", pairs_inputs),
        f"pairs {ts.name} ({model.name})",
        model,
        pairs_inputs,
        deps=(translate.key,) if translate else (),
        params={
            "data": None if translate else data,
            "translate": translate.key if translate else None,
            "language": translate.params["translation"].target_language if translate else None,
            "pairs": ts.pairs,
        },
    )
    config = {"seed": spec.seed, **spec.training_config(ts)}
    train_inputs = {
        "model": _model_identity(model),
        "pairs": pairs.key,
        "training": _training_identity(services, model, ts, config),
    }
    train = Stage(
        "train",
        stage_key("train", train_inputs),
        f"train {model.name} on {ts.name}",
        model,
        train_inputs,
        deps=(pairs.key,),
        params={"config": config, "pairs": pairs.key},
    )
    stages.setdefault(pairs.key, pairs)
    stages.setdefault(train.key, train)
    return train


def _training_identity(
    services: Services, model: ModelSpec, ts: TrainSetSpec, config: dict[str, Any]
) -> dict[str, Any]:
    try:
        return services.training_identity(model, config)
    except CultureAlignError as exc:
        raise CultureAlignError(
            f"training config of {ts.name!r} (spec 'training' + train_sets[].training): "
            + exc.message,
            exc.hint,
        ) from exc


def _eval_cells(
    spec: ExperimentSpec,
    model: ModelSpec,
    row: str,
    train: Stage | None,
    columns: dict[str, Task | str],
    stages: dict[str, Stage],
) -> list[Cell]:
    cells = []
    for ev in spec.evaluations:
        task = columns[ev.name]
        if isinstance(task, str):
            cells.append(Cell(model.name, row, ev.name, reason=task))
            continue
        generation = resolve_generation(task, ev.max_new_tokens)
        inputs = {
            "model": _model_identity(model),
            "adapter": train.key if train else None,
            "task": {"name": task.name, "version": task.version, "args": task.args},
            "data_sha256": task.dataset.get("sha256"),
            "generation": asdict(generation) if task.scorer.mode == "generate" else None,
        }
        key = stage_key("eval", inputs)
        label = f"eval {model.name}{' + ' + row if train else ''} on {ev.name}"
        stage = Stage(
            "eval",
            key,
            label,
            model,
            inputs,
            deps=(train.key,) if train else (),
            params={
                "task": task,
                "train": train.key if train else None,
                "generation": generation,
            },
        )
        stages.setdefault(key, stage)
        cells.append(Cell(model.name, row, ev.name, stage=key))
    return cells
