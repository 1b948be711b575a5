"""The result records: one definition, the bytes the runner writes, the published schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from culturealign.evaluation.records import (
    SCHEMA_VERSION,
    ItemRecord,
    JudgementItem,
    NLIItem,
    RunSummary,
    SurveyItem,
    TaskRef,
    as_items,
    format_estimate,
    percent,
    read_items,
    read_summary,
    schema_markdown,
)
from culturealign.evaluation.runner import run_task
from culturealign.evaluation.tasks.moral import judgement
from culturealign.layout import ITEMS_FILE, RESULTS_FILE, SUMMARY_FILE
from culturealign.models.base import ModelInfo

DOC = Path(__file__).resolve().parents[2] / "docs" / "records.md"


def test_docs_publish_the_schema_the_code_generates():
    text = DOC.read_text(encoding="utf-8")
    begin, end = "<!-- generated: begin -->\n", "<!-- generated: end -->"
    published = text[text.index(begin) + len(begin) : text.index(end)]
    assert published == schema_markdown(), "regenerate docs/records.md (command in the page)"
    for name in ("ItemRecord", "JudgementItem", "SurveyItem", "NLIItem", "RunSummary"):
        assert f"### {name}" in published


def test_a_record_is_written_with_common_fields_first_then_the_task_fields_in_order():
    raw = {"id": "7", "prompt": "p", "choices": ["a", "b"], "target": 1, "pair": 3}
    raw |= {"text": "t", "logprobs": [-0.5, -1.25], "prediction": 0, "correct": False}
    record = ItemRecord.model_validate(raw)
    assert record.to_line() == json.dumps(raw, ensure_ascii=False) + "\n"
    assert record.get("pair") == 3 and record.get("missing", "x") == "x"
    typed = as_items([record], JudgementItem)[0]
    assert typed.pair == 3 and typed.correct is False and typed.output is None


def test_a_view_rejects_a_record_without_its_task_fields():
    bare = {"id": "1", "prompt": "p", "choices": [], "target": None}
    with pytest.raises(ValidationError):
        as_items([bare], SurveyItem)
    with pytest.raises(ValidationError):
        as_items([{**bare, "item": "i", "group": "US"}], NLIItem)


def test_read_items_keeps_the_last_line_of_an_id(tmp_path):
    path = tmp_path / ITEMS_FILE
    lines = [{"id": i, "prompt": "", "choices": [], "target": t} for i, t in (("a", 0), ("b", 1))]
    lines.append({"id": "a", "prompt": "", "choices": [], "target": 2})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert [(r.id, r.target) for r in read_items(path)] == [("b", 1), ("a", 2)]


def _summary(**extra) -> RunSummary:
    return RunSummary(
        task=TaskRef(name="jcm", version=2, args={"shots": 3}),
        dataset={"name": "d"},
        model={"name": "m"},
        mode="choice",
        generation=None,
        table_columns=["accuracy"],
        n_items=2,
        metrics={"accuracy": {"value": 0.5, "ci_low": 0.25, "ci_high": 0.75}, "n": 2},
        environment={},
        work={},
        **extra,
    )


def test_summary_json_has_the_schema_version_and_departures_only_when_there_are_some():
    plain = _summary().to_json()
    assert list(plain)[0] == "schema_version" and plain["schema_version"] == SCHEMA_VERSION
    assert "generation_departs_from_task" not in plain
    assert plain["generation"] is None  # a None that is part of the layout stays
    changed = {"temperature": {"task": 1.0, "used": 0.5}}
    departs = _summary(generation_departs_from_task=changed).to_json()
    keys = list(departs)
    assert keys.index("metrics") < keys.index("generation_departs_from_task") < keys.index("work")
    assert _summary().metric("accuracy") == {"value": 0.5, "ci_low": 0.25, "ci_high": 0.75}
    assert _summary().metric("n") is None and _summary().metric("absent") is None


def test_one_formatter_for_estimates_and_percentages():
    est = {"value": 0.5, "ci_low": 0.25, "ci_high": 0.755}
    assert format_estimate(est) == "50.0 [25.0, 75.5]"
    assert format_estimate({"value": -0.02, "ci_low": -0.1, "ci_high": 0.04}, signed=True) == (
        "-2.0 [-10.0, +4.0]"
    )
    assert format_estimate({"value": 0.1}) == "10.0 [10.0, 10.0]"  # no interval: the value
    assert format_estimate(1234.5) == "1234" and format_estimate(None) == "—"
    assert percent(None) == "—" and percent(0.123) == "12.3" and percent(0.0, signed=True) == "+0.0"


class TwoChoiceModel:
    """A deterministic model: prefers the second choice when the prompt mentions 'steal'."""

    is_chat = False
    info = ModelInfo(name="two-choice", backend="fake", path="-")

    def render_chat(self, messages) -> str:  # pragma: no cover (not a chat model)
        raise AssertionError

    def choice_logprobs(self, requests, progress=None) -> list[list[float]]:
        out = [[-1.0, -0.1] if "steal" in r.text else [-0.1, -1.0] for r in requests]
        if progress:
            progress(len(requests))
        return out


def test_a_run_writes_records_that_pandas_and_the_typed_reader_agree_on(tmp_path):
    data = tmp_path / "j.csv"
    data.write_text("text,label\nI helped him.,0\nI will steal it.,1\nI lied.,1\n")
    summary = run_task(judgement(path=data), TwoChoiceModel(), tmp_path / "run")
    frame = pd.read_json(tmp_path / "run" / ITEMS_FILE, lines=True)  # the docs' example
    assert list(frame.columns[:4]) == ["id", "prompt", "choices", "target"]
    assert {"text", "logprobs", "prediction", "correct"} <= set(frame.columns)
    items = as_items(read_items(tmp_path / "run" / ITEMS_FILE), JudgementItem)
    assert [r.correct for r in items] == frame["correct"].tolist()  # written in chunk order
    assert {r.text: r.correct for r in items} == {
        "I helped him.": True,
        "I will steal it.": True,
        "I lied.": False,
    }
    back = read_summary(tmp_path / "run" / SUMMARY_FILE)
    assert back.to_json() == summary and back.n_items == 3
    assert back.metric("accuracy")["value"] == pytest.approx(2 / 3)
    table = (tmp_path / "run" / RESULTS_FILE).read_text()
    assert format_estimate(back.metric("accuracy")) in table


def test_evaluation_and_experiments_import_no_reports_until_a_run_ends():
    code = (
        "import sys, culturealign.evaluation.tasks, culturealign.evaluation.runner, "
        "culturealign.experiments, culturealign.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('culturealign.reports')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
