"""``culturealign run <spec>`` for ``kind: wvs-study``: every model evaluated, then the figures.

Run folder: ``models/<label>/`` (the runner's ``items.jsonl``, ``summary.json``: a killed run
resumes where it stopped), ``study.md`` / ``study.json`` / ``per_*.csv`` / ``heatmap.png``, and
``distill/`` when the spec has a distillation block.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from culturealign.data.wvs import WESTERN
from culturealign.layout import ITEMS_FILE, SUMMARY_FILE
from culturealign.wvs_study.spec import StudySpec, load_study_spec
from culturealign.wvs_study.survey import WESTERN_WIDE, country_names, study_survey
from culturealign.wvs_study.task import study_task


def western_of(spec: StudySpec) -> frozenset[str]:
    """The spec's Western group, else ours for its data source (docs/tasks/wvs.md)."""
    if spec.western is not None:
        return frozenset(spec.western)
    return WESTERN_WIDE if spec.data.source == "official" else WESTERN


def run_spec(path: Path, out_dir: Path | None, report: bool, restart: bool, console: Any) -> None:
    """Evaluate every model of the spec, write the study's figures, then distil if asked."""
    spec = load_study_spec(path)
    target = out_dir or Path("runs") / spec.name
    if restart and target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    (target / "spec.yaml").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    survey = study_survey(spec.data.model_dump())
    western = western_of(spec) & frozenset(survey.countries)  # as reported: the ones asked
    if spec.models:
        figures = compare_models(spec, survey, western, target, console)
        if report:
            from culturealign.reports.wvs_study import write_study_report

            for written in write_study_report(target, figures, western):
                console.print(f"wrote {written}")
    if spec.distill is not None:
        from culturealign.wvs_study.distill import run_distillation

        run_distillation(spec, survey, target / "distill", console)


def compare_models(
    spec: StudySpec, survey: Any, western: frozenset[str], target: Path, console: Any
) -> dict[str, dict[str, Any]]:
    """Each model's culture-aware answers (cached per model) -> its figures."""
    from culturealign.evaluation.runner import run_task
    from culturealign.models import load_model
    from culturealign.reports.wvs_study import mean_pairs, model_figures

    names = country_names()
    figures = {}
    for m in spec.models:
        out = target / "models" / m.name
        task = study_task(survey, western, names, spec.prompt, spec.mode)
        if not finished(out, task, m.id):
            console.print(f"evaluating {m.name} on {len(survey.pairs())} (question, country) pairs")
            model = load_model(m.id, m.backend, **m.load_options())
            run_task(task, model, out)
            del model
        records = read_items(out / ITEMS_FILE)
        figures[m.name] = model_figures(mean_pairs(records, survey), survey.countries, western)
        console.print(f"{m.name}: r = {figures[m.name]['r']:.3f}")
    return figures


def finished(out: Path, task: Any, model_id: str) -> bool:
    """A summary of this task (same questions, countries, prompt) and model is already there."""
    path = out / SUMMARY_FILE
    if not path.is_file():
        return False
    summary = json.loads(path.read_text(encoding="utf-8"))
    same_task = summary.get("task", {}).get("args") == json.loads(json.dumps(task.args))
    return same_task and summary.get("model", {}).get("name") == model_id


def read_items(path: Path) -> list[dict[str, Any]]:
    """The records of a finished run's ``items.jsonl``."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
