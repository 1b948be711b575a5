"""Run a task on a model: resumable per-item JSONL, then a summary JSON and a Markdown table.

The folder's files are named in :mod:`culturealign.layout`, its records typed in
:mod:`.records`::

    run.json       what is being run (task, args, model); a resume must match it
    items.jsonl    one ItemRecord per finished item, appended and flushed chunk by chunk
    summary.json   the RunSummary: metrics with CIs and full provenance (written last, atomically)
    results.md     the summary as a Markdown table

A killed run re-run with the same directory skips the items already in ``items.jsonl`` (a
torn last line from the kill is dropped and that item redone).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from culturealign.errors import CultureAlignError
from culturealign.evaluation.records import ItemRecord, RunSummary
from culturealign.evaluation.task import Sample, Task
from culturealign.layout import ITEMS_FILE, RESULTS_FILE, RUN_FILE, SUMMARY_FILE
from culturealign.models.base import GenerationConfig, LanguageModel
from culturealign.paths import ensure_writable_dir, write_json_atomic, write_text_atomic
from culturealign.provenance import environment

CHUNK = {"choice": 64, "generate": 16}

ProgressFactory = Callable[[int, int], Callable[[int], None]]  # (total, done) -> advance


def resolve_generation(
    task: Task,
    max_new_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> GenerationConfig:
    """The task's generation defaults (its protocol's; else greedy, 8 tokens) with overrides."""
    base = task.generation or GenerationConfig(max_new_tokens=8)
    given = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed)
    return replace(base, **{k: v for k, v in given.items() if v is not None})


def run_task(
    task: Task,
    model: LanguageModel,
    out_dir: Path,
    generation: GenerationConfig | None = None,
    progress: ProgressFactory | None = None,
) -> dict[str, Any]:
    """Evaluate ``task`` with ``model`` into ``out_dir``; returns the summary as written."""
    ensure_writable_dir(out_dir)
    generation = generation or resolve_generation(task)
    identity = _identity(task, model, generation)
    check_resume(out_dir / RUN_FILE, identity)
    samples = task.samples(model)
    items_path = out_dir / ITEMS_FILE
    done = read_records(items_path)
    todo = [s for s in samples if s.id not in done]
    advance = progress(len(samples), len(samples) - len(todo)) if progress else None
    with items_path.open("a", encoding="utf-8") as fh:
        for chunk, chunk_generation in pending_chunks(task, samples, done, generation):
            for record in score_chunk(task, model, chunk, chunk_generation, advance):
                if record.id in done:
                    continue  # re-drawn only to keep its chunk's sampling identical
                fh.write(record.to_line())
                done[record.id] = record
            fh.flush()
            os.fsync(fh.fileno())
    records = [done[s.id] for s in samples]
    # What this process computed (a resumed run covers only the items it scored).
    work = {"items_scored": len(todo), **dict(getattr(model, "work", {}))}
    return finish_run(task, out_dir, identity, records, generation, work)


def finish_run(
    task: Task,
    out_dir: Path,
    identity: dict[str, Any],
    records: list[ItemRecord],
    generation: GenerationConfig,
    work: dict[str, Any],
) -> dict[str, Any]:
    """Write summary.json and results.md (and the task's report) for finished ``records``."""
    summary = RunSummary.model_validate(
        {
            **identity,
            "n_items": len(records),
            "metrics": task.metrics(records),
            **_departures(task, generation),
            "environment": environment(),
            "work": work,
        }
    )
    written = summary.to_json()
    write_json_atomic(out_dir / SUMMARY_FILE, written)
    from culturealign.reports.summary_table import markdown_table  # the run ends: its report

    write_text_atomic(out_dir / RESULTS_FILE, markdown_table([summary]))
    if task.report is not None:
        task.report(out_dir, summary)
    return written


def _identity(task: Task, model: LanguageModel, generation: GenerationConfig) -> dict[str, Any]:
    return identity_for(task, asdict(model.info), generation)


def identity_for(task: Task, info: dict[str, Any], generation: GenerationConfig) -> dict[str, Any]:
    """What a run is (task, dataset, model info as a dict, mode, generation settings)."""
    return {
        "task": {"name": task.name, "version": task.version, "args": _jsonable(task.args)},
        "dataset": task.dataset,
        "model": info,
        "mode": task.scorer.mode,
        "generation": asdict(generation) if task.scorer.mode == "generate" else None,
        "table_columns": list(task.table_columns),
        "item_value": task.item_value,
    }


def _departures(task: Task, used: GenerationConfig) -> dict[str, Any]:
    # Overriding a protocol's sampling settings makes a variant of it: say so in the summary.
    if task.scorer.mode != "generate" or task.generation is None:
        return {}
    default, actual = asdict(task.generation), asdict(used)
    changed = {
        k: {"task": default[k], "used": actual[k]} for k in default if default[k] != actual[k]
    }
    return {"generation_departs_from_task": changed} if changed else {}


def check_resume(path: Path, identity: dict[str, Any]) -> None:
    key = {k: identity[k] for k in ("task", "mode", "generation")}
    key["model"] = {k: identity["model"][k] for k in ("name", "path", "adapter_sha256", "dtype")}
    key["dataset_sha256"] = identity["dataset"].get("sha256")
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if "dtype" not in previous.get("model", {}):  # written before dtype was part of the key
            del key["model"]["dtype"]
        if previous != json.loads(json.dumps(key, default=str)):
            raise CultureAlignError(
                f"{path.parent} holds a different run (task, model or settings differ)",
                "use a new --out directory, or delete that one to start over",
            )
    else:
        write_json_atomic(path, key)


def score_chunk(
    task: Task,
    model: LanguageModel,
    chunk: list[Sample],
    generation: GenerationConfig,
    advance: Callable[[int], None] | None,
) -> Iterator[ItemRecord]:
    if task.scorer.mode == "choice":
        outputs = model.choice_logprobs([s.request for s in chunk], advance)
    else:
        outputs = model.generate([s.prompt for s in chunk], generation, advance)
    for sample, output in zip(chunk, outputs, strict=True):
        yield ItemRecord.model_validate(
            {
                "id": sample.id,
                "prompt": sample.prompt,
                "choices": list(sample.request.choices),
                "target": sample.target,
                **sample.meta,
                **task.scorer(sample, output),
            }
        )


def pending_chunks(
    task: Task, samples: list[Sample], done: dict[str, ItemRecord], generation: GenerationConfig
) -> Iterator[tuple[list[Sample], GenerationConfig]]:
    """The chunks still to score, each with the generation settings it is drawn with.

    Choice scores do not depend on the batch, so only unfinished items are scored. A sampled
    answer depends on its batch and the seed, so generate mode keeps the full run's chunks, seeds
    chunk i with ``seed + i`` and re-draws a whole chunk that a kill left part-written: a resumed
    run gives the same answers as an uninterrupted one.
    """
    if task.scorer.mode == "choice":
        todo = [s for s in samples if s.id not in done]
        yield from ((chunk, generation) for chunk in _chunks(todo, CHUNK["choice"]))
        return
    own = task.generation is None or generation.temperature == task.generation.temperature
    for i, chunk in enumerate(_chunks(samples, CHUNK["generate"])):
        if any(s.id not in done for s in chunk):
            item_temperature = chunk[0].temperature if own else None
            drawn = replace(generation, seed=generation.seed + i)
            if item_temperature is not None:
                drawn = replace(drawn, temperature=item_temperature)
            yield chunk, drawn


def _chunks(samples: list[Sample], size: int) -> Iterator[list[Sample]]:
    """``size``-item chunks in scoring order; a chunk never mixes item temperatures."""
    ordered = scoring_order(samples)
    start = 0
    while start < len(ordered):
        end, first = start + 1, ordered[start].temperature
        while end < len(ordered) and end - start < size and ordered[end].temperature == first:
            end += 1
        yield ordered[start:end]
        start = end


def read_records(path: Path) -> dict[str, ItemRecord]:
    if not path.exists():
        return {}
    records: dict[str, ItemRecord] = {}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    valid_bytes = 0
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            break  # a torn write from a killed run: drop it and everything after
        if not line.endswith("\n"):
            break
        records[record["id"]] = ItemRecord.model_validate(record)
        valid_bytes += len(line.encode("utf-8"))
    with path.open("r+b") as fh:
        fh.truncate(valid_bytes)
    return records


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def scoring_order(samples: list[Sample]) -> list[Sample]:
    """The order items are scored and written in.

    Grouped by shared prefix (each prefix's KV cache is built once), then by item temperature
    (one sampling setting per batch), then length-sorted so the backend batches items of similar
    length together.
    """
    first_seen: dict[str, int] = {}
    for s in samples:
        first_seen.setdefault(s.request.prefix, len(first_seen))

    def key(s: Sample) -> tuple[int, float, int]:
        temperature = -1.0 if s.temperature is None else s.temperature
        return first_seen[s.request.prefix], temperature, len(s.request.text)

    return sorted(samples, key=key)
