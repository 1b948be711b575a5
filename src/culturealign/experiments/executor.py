"""Run an experiment: every stage of the plan, cached by content, resumable after a kill.

Layout of a run folder::

    spec.yaml      the spec as given (for the record)
    plan.json      rows, columns and cells: which evaluation stage fills each, or why not run
    log.jsonl      one line per stage start/finish with wall times (the report never reads it)
    stages/translate/<key>/translated.jsonl(.meta.json), check.json   (translated sets)
    stages/pairs/<key>/pairs.jsonl
    stages/train/<key>/adapter/...      (checkpoints beside it)
    stages/eval/<key>/{run,summary}.json, items.jsonl, results.md

Stages run in the plan's order (dependencies first; one model loaded at a time). A stage whose
folder exists is skipped; a ``.partial`` folder left by a kill is resumed.
"""

from __future__ import annotations

import gc
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from culturealign.data.records import JudgementSet
from culturealign.errors import CultureAlignError
from culturealign.experiments.cache import StageStore, run_lock
from culturealign.experiments.plan import Plan, Stage, build_plan
from culturealign.experiments.services import (
    ADAPTER_DIR,
    CHECK_FILE,
    PAIRS_FILE,
    TRANSLATED_FILE,
    Services,
)
from culturealign.experiments.spec import ExperimentSpec, ModelSpec
from culturealign.layout import PLAN_FILE, STAGES_DIR
from culturealign.models.base import LanguageModel
from culturealign.paths import ensure_writable_dir, write_json_atomic, write_text_atomic


class Reporter(Protocol):
    """Progress display: :class:`.status.StageProgress`, or :class:`QuietReporter`."""

    def stage_started(self, stage: Stage, index: int, total: int) -> None: ...

    def stage_finished(self, stage: Stage, cached: bool) -> None: ...

    def items(self, total: int, done: int) -> Any: ...  # -> Callable[[int], None]

    @property
    def console(self) -> Any: ...  # a rich Console for the trainer's own bar, or None


class QuietReporter:
    def stage_started(self, stage: Stage, index: int, total: int) -> None:
        return None

    def stage_finished(self, stage: Stage, cached: bool) -> None:
        return None

    def items(self, total: int, done: int) -> Any:
        return lambda n: None

    @property
    def console(self) -> Any:
        from rich.console import Console

        return Console(quiet=True)


def run_experiment(
    spec: ExperimentSpec,
    out_dir: Path,
    services: Services,
    reporter: Reporter | None = None,
    spec_text: str | None = None,
) -> Plan:
    """Plan and run every stage of ``spec`` into ``out_dir``; returns the plan."""
    reporter = reporter or QuietReporter()
    plan = build_plan(spec, services)
    _require_some_stage(plan)
    ensure_writable_dir(out_dir)
    with run_lock(out_dir):
        if spec_text is not None:
            write_text_atomic(out_dir / "spec.yaml", spec_text)
        write_json_atomic(out_dir / PLAN_FILE, plan_record(plan))
        _Execution(plan, StageStore(out_dir / STAGES_DIR), services, reporter, out_dir).run()
        if _add_translation_notes(plan, StageStore(out_dir / STAGES_DIR)):
            write_json_atomic(out_dir / PLAN_FILE, plan_record(plan))
    return plan


DATA_HINT = (
    "point CULTUREALIGN_DATA at a folder with jcm/ and ethics_commonsense/ like shared/data "
    "(see docs/experiments.md), or run where the canonical sources can be downloaded"
)


def _require_some_stage(plan: Plan) -> None:
    """A grid where nothing can run (e.g. no data at all) is an error, not an empty report."""
    if any(cell.stage for cell in plan.cells):
        return
    first = plan.cells[0].reason if plan.cells else "the spec has no cells"
    raise CultureAlignError(f"nothing to run: {first}", DATA_HINT)


def plan_record(plan: Plan) -> dict[str, Any]:
    """What the report needs to lay out the table, without any machine-specific paths."""
    reference = plan.spec.reference_baseline()
    return {
        "name": plan.spec.name,
        "description": plan.spec.description,
        "models": [m.name for m in plan.spec.models],
        "rows": [row._asdict() for row in plan.rows()],
        "columns": [ev.name for ev in plan.spec.evaluations],
        "baseline": reference.label if reference else None,
        "cells": [asdict(c) for c in plan.cells],
        "notes": plan.notes,
        "stages": {k: {"kind": s.kind, "label": s.label} for k, s in plan.stages.items()},
    }


class _Execution:
    def __init__(
        self, plan: Plan, store: StageStore, services: Services, reporter: Reporter, out: Path
    ) -> None:
        self.plan, self.store, self.services, self.reporter = plan, store, services, reporter
        self.log_path = out / "log.jsonl"
        self._loaded: tuple[tuple[str, str | None], LanguageModel] | None = None

    def run(self) -> None:
        stages = list(self.plan.stages.values())
        for index, stage in enumerate(stages):
            self.reporter.stage_started(stage, index, len(stages))
            start = time.perf_counter()
            work = {
                "translate": self._translate,
                "pairs": self._pairs,
                "train": self._train,
                "eval": self._eval,
            }[stage.kind]
            result = self.store.run(
                stage.kind, stage.key, stage.inputs, lambda d, s=stage, w=work: w(s, d)
            )
            self._log(stage, result.cached, time.perf_counter() - start)
            self.reporter.stage_finished(stage, result.cached)
        self._release()

    def _translate(self, stage: Stage, work_dir: Path) -> None:
        self._release()  # the translator loads its own model
        data = stage.params["data"]
        progress = self.reporter.items(len(data), 0)
        self.services.translate(data, stage.params["translation"], work_dir, progress)

    def _pairs(self, stage: Stage, work_dir: Path) -> None:
        params = stage.params
        data = params["data"]
        if params["translate"]:
            folder = self.store.final("translate", params["translate"])
            data = load_translated(folder / TRANSLATED_FILE, params["language"])
        model = self._model(stage.model, None)
        self.services.build_pairs(data, params["pairs"], model, work_dir / PAIRS_FILE)

    def _train(self, stage: Stage, work_dir: Path) -> None:
        # Training loads its own copy of the model: free ours first (a 7B model twice won't fit).
        self._release()
        prefs = self.store.final("pairs", stage.params["pairs"]) / PAIRS_FILE
        self.services.train(
            stage.model, prefs, stage.params["config"], work_dir, self.reporter.console
        )
        if not (work_dir / ADAPTER_DIR / "adapter_config.json").is_file():
            raise CultureAlignError(
                f"training {stage.label} finished without an adapter in {work_dir / ADAPTER_DIR}",
                "check the training log in that folder",
            )

    def _eval(self, stage: Stage, work_dir: Path) -> None:
        from culturealign.evaluation.runner import run_task

        train = stage.params["train"]
        adapter = self.store.final("train", train) / ADAPTER_DIR if train else None
        model = self._model(stage.model, adapter)
        generation = stage.params["generation"]
        run_task(stage.params["task"], model, work_dir, generation, self.reporter.items)

    def _model(self, spec: ModelSpec, adapter: Path | None) -> LanguageModel:
        # One model in memory at a time; stages are ordered so consecutive ones share it.
        want = (spec.id, str(adapter) if adapter else None)
        if self._loaded is None or self._loaded[0] != want:
            self._release()
            self._loaded = (want, self.services.load(spec, adapter))
        return self._loaded[1]

    def _release(self) -> None:
        self._loaded = None
        gc.collect()

    def _log(self, stage: Stage, cached: bool, seconds: float) -> None:
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "stage": stage.key,
            "kind": stage.kind,
            "label": stage.label,
            "cached": cached,
            "seconds": round(seconds, 2),
        }
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def load_translated(path: Path, language: Any) -> JudgementSet:
    """A translate stage's output as a JudgementSet: ids and labels kept, empty outputs dropped."""
    from culturealign.data.records import Judgement
    from culturealign.data.sources import sha256_of

    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    items = [Judgement(str(r["id"]), r["text"], int(r["label"])) for r in rows if r["text"].strip()]
    notes = (
        [f"{len(rows) - len(items)} empty translations dropped"] if len(items) < len(rows) else []
    )
    if not items:
        raise CultureAlignError(f"every translation in {path} is empty", "use another translator")
    return JudgementSet(path.stem, "translated", language, items, str(path), sha256_of(path), notes)


def _add_translation_notes(plan: Plan, store: StageStore) -> bool:
    """Put each translated set's round-trip chrF/BLEU and failure shares in the report notes."""
    added = False
    for stage in plan.stages.values():
        folder = store.final(stage.kind, stage.key)
        if stage.kind != "translate" or not store.is_done(stage.kind, stage.key):
            continue
        meta = json.loads((folder / (TRANSLATED_FILE + ".meta.json")).read_text("utf-8"))
        shares = meta["failure_shares"]
        note = (
            f"training set {stage.params['row']}, {stage.label}: empty {shares['empty']:.1%}, "
            f"unchanged {shares['unchanged']:.1%}, "
            f"wrong script {shares['wrong_script']:.1%} of {meta['rows']} sentences"
        )
        if (folder / CHECK_FILE).is_file():
            check = json.loads((folder / CHECK_FILE).read_text("utf-8"))
            note += (
                f"; round trip on {check['sentences']} sentences: chrF {check['chrf']}, "
                f"BLEU {check['bleu']} (a weak translator is a finding: read these rows with it)"
            )
        if note not in plan.notes:
            plan.notes.append(note)
            added = True
    return added


def clean_partials(out_dir: Path) -> int:
    """Delete unfinished stage folders (to start them over rather than resume); returns count."""
    root = out_dir / STAGES_DIR
    partials = list(root.glob("*/*.partial")) if root.is_dir() else []
    for path in partials:
        shutil.rmtree(path)
    return len(partials)
