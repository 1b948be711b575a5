"""CultureBank's two-stage knowledge SFT: data builders, the spec, and the pipeline end to end
on tiny settings with the real embedded smollm2-135m-instruct."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from culturealign.culturebank_sft.data import augmented_answers, knowledge_rows, low_scoring
from culturealign.culturebank_sft.pipeline import TABLE_JSON, TABLE_MD, run_culturebank_sft
from culturealign.culturebank_sft.spec import (
    CULTUREBANK_SFT,
    AugmentSettings,
    load_culturebank_sft_spec,
)
from culturealign.data.culturebank import load_culturebank
from culturealign.errors import CultureAlignError
from culturealign.evaluation.records import ItemRecord
from culturealign.experiments.spec import shipped_specs

TINY = {
    "kind": "culturebank-sft",
    "name": "tiny",
    "model": "smollm2-135m-instruct",
    "model_options": {"threads": 2},
    "grounded": {"limit": 3, "max_new_tokens": 6, "threshold": 1.0},
    "augment": {"max_new_tokens": 6, "batch_size": 2},
    "stage1": {"max_steps": 1, "batch_size": 2, "grad_accum": 1, "max_length": 128},
    "stage2": {"max_steps": 1, "batch_size": 2, "grad_accum": 1, "max_length": 512},
    "evaluate": {"globalopinionqa": {"limit": 2, "mode": "choice"}, "cali": {"limit": 4}},
}


def _item(**fields) -> ItemRecord:
    return ItemRecord(prompt="", choices=[], **fields)


def _console() -> Console:
    return Console(file=io.StringIO(), width=200, soft_wrap=True)


def test_knowledge_rows_are_distinct_paragraphs_in_file_order():
    rows = load_culturebank("reddit").rows[:30]
    out = knowledge_rows([*rows, rows[0]])
    assert [r["text"] for r in out] == list(dict.fromkeys(r.knowledge.strip() for r in rows))
    assert all(set(r) == {"text"} and r["text"] for r in out)


def test_low_scoring_keeps_items_below_the_threshold():
    items = [_item(id=str(i), p_yes=p) for i, p in enumerate([0.1, 0.6, 0.59, 0.9])]
    assert [it.id for it in low_scoring(items, 0.6)] == ["0", "2"]


def test_spec_stages_start_from_the_culturebank_recipe(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**TINY, "stage2": {"epochs": 3, "lora": {"r": 4}}}))
    spec = load_culturebank_sft_spec(path)
    assert spec.sft(1)["lora"] == CULTUREBANK_SFT["lora"] and spec.sft(1)["max_steps"] == 1
    assert spec.sft(2)["epochs"] == 3 and spec.sft(2)["lora"]["r"] == 4
    assert spec.sft(2)["lora"]["target_modules"] == ["q_proj", "v_proj"]
    demo = load_culturebank_sft_spec(shipped_specs()["culturebank_sft_demo"])
    assert demo.grounded.threshold == 0.6 and demo.sft(1)["learning_rate"] == 1e-4
    path.write_text(yaml.safe_dump({**TINY, "grounded": {"threshold": 2}}))
    with pytest.raises(CultureAlignError, match="grounded.threshold"):
        load_culturebank_sft_spec(path)


@pytest.mark.integration
def test_augmented_answers_resume_and_ask_as_the_evaluation(tmp_path):
    from culturealign.judging.culturebank import GROUNDED_EVAL, render_user
    from culturealign.models import load_model

    model = load_model("smollm2-135m-instruct", threads=2)
    rows = load_culturebank("reddit").rows[:3]
    items = [_item(id=r.id, question=r.question, knowledge=r.knowledge, p_yes=0.1) for r in rows]
    out = tmp_path / "stage2.jsonl"
    first = {"id": rows[0].id, "prompt": "p", "completion": "done before the kill"}
    out.write_text(json.dumps(first) + "\n")
    stats = augmented_answers(model, model, items, AugmentSettings(max_new_tokens=6), out)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0] == first  # not redone
    assert stats["written"] == len(lines) == 3 - stats["empty_dropped"]
    for row, r in zip(lines[1:], rows[1:], strict=False):
        assert row["id"] == r.id and row["completion"].strip()
        assert row["prompt"] == render_user(model, GROUNDED_EVAL.format(r.question))
        assert r.knowledge not in row["prompt"]  # the student is asked without the knowledge


@pytest.mark.integration
def test_tiny_pipeline_runs_every_stage_and_reruns_from_cache(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "run"
    result = run_culturebank_sft(spec, out, False, _console())
    stages = out / "stages"
    stage1 = next((stages / "stage1_data").iterdir()) / "stage1.jsonl"
    assert len(stage1.read_text().splitlines()) == 3
    stage2 = next((stages / "stage2_data").iterdir())
    augment = json.loads((stage2 / "augment.json").read_text())
    assert augment["low_scoring"] == 3  # threshold 1.0: every question
    assert (next((stages / "merged").iterdir()) / "model" / "config.json").is_file()
    assert set(result["tasks"]) == {"globalopinionqa", "cali", "culturebank-grounded"}
    goqa = result["tasks"]["globalopinionqa"]  # aware personas only: its reported column
    assert goqa["headline"] == "similarity_aware" and goqa["base"] and goqa["two-stage"]
    grounded = result["tasks"]["culturebank-grounded"]
    assert grounded["change"]["n"] == 3 and 0 <= grounded["change"]["p"] <= 1
    two_stage = [
        json.loads((d / "summary.json").read_text())["model"]
        for d in (stages / "evaluate").iterdir()
        if json.loads((d / "summary.json").read_text())["model"]["adapter"]
    ]
    assert len(two_stage) == 3 and all("merged" in m["path"] for m in two_stage)
    table = (out / TABLE_MD).read_text()
    assert table.startswith("| task | metric | base | two-stage | change |")
    assert "CultureBank grounded" in table and "paired, n=3" in table
    assert json.loads((out / TABLE_JSON).read_text()) == json.loads(json.dumps(result))
    again = io.StringIO()
    assert run_culturebank_sft(spec, out, False, Console(file=again, width=200)) == result
    assert "done (" not in again.getvalue()  # every stage read back from the cache


def test_missing_spec_is_a_clear_error(tmp_path: Path):
    with pytest.raises(CultureAlignError, match="spec not found"):
        load_culturebank_sft_spec(tmp_path / "nope.yaml")
