"""End to end on the embedded models: a few questions and countries, resume, report files."""

from __future__ import annotations

import json

import pytest

from culturealign.evaluation.records import read_summary
from culturealign.evaluation.runner import run_task
from culturealign.evaluation.tasks.survey import cali, globalopinionqa, wvs_culturespa
from culturealign.models.base import GenerationConfig
from culturealign.reports.survey import write_survey_report

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]


def _items(path):
    return [json.loads(line) for line in (path / "items.jsonl").read_text().splitlines()]


def test_wvs_both_personas_on_gemma_resumes_and_reports(gemma, tmp_path):
    task = wvs_culturespa(persona="both", countries="USA,IND", limit=2)
    summary = run_task(task, gemma, tmp_path)
    items = _items(tmp_path)
    assert len(items) == 2 + 2 * 2  # unaware once per question, aware per country
    assert all(abs(sum(r["probs"]) - 1) < 1e-6 for r in items)
    assert {r["persona"] for r in items} == {"unaware", "aware"}
    usa = next(r for r in items if r["id"] == "aware/USA/Q1")
    assert "an American cultural background" in usa["prompt"]
    m = summary["metrics"]
    assert set(m["per_country"]) == {"unaware", "aware"}
    assert m["culturespa_gain"]["value"] == pytest.approx(
        m["culturespa_aware"]["value"] - m["culturespa_unaware"]["value"]
    )
    again = run_task(task, gemma, tmp_path)  # resume: nothing left to score
    assert len(_items(tmp_path)) == len(items) and again["metrics"] == m
    summary_file = read_summary(tmp_path / "summary.json")
    names = {p.name for p in write_survey_report(tmp_path, summary_file)}
    assert names == {"per_country.csv", "report.md", "per_country.png"}


def test_wvs_generate_on_smollm_chat(smollm, tmp_path):
    task = wvs_culturespa(persona="aware", countries="USA", limit=2, mode="generate")
    run_task(task, smollm, tmp_path, GenerationConfig(max_new_tokens=6))
    items = _items(tmp_path)
    assert len(items) == 2 and all("output" in r and "answer" in r for r in items)
    assert items[0]["prompt"].count("American cultural background") == 1


def test_globalopinionqa_and_cali_on_gemma(gemma, tmp_path):
    goqa = run_task(
        globalopinionqa(subset="modular_pluralism", countries="Spain", limit=1),
        gemma,
        tmp_path / "goqa",
    )
    assert 0 < goqa["metrics"]["similarity_aware"]["value"] <= 1
    nli = run_task(cali(limit=2), gemma, tmp_path / "cali")
    assert {"f1_US", "f1_IN"} <= set(nli["metrics"])
    items = _items(tmp_path / "cali")
    assert len(items) == 4 and all(0 <= r["p_entail"] <= 1 for r in items)
