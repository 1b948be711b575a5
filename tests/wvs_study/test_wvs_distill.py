"""Distillation: the split by question, the SFT rows, and a real tiny teacher -> student run."""

from __future__ import annotations

import json

import pytest

from culturealign.data.wvs import load_culturespa_wvs
from culturealign.errors import CultureAlignError
from culturealign.wvs_study.distill import split_questions

pytestmark = pytest.mark.needs_data


def test_split_is_by_question_seeded_and_disjoint():
    survey = load_culturespa_wvs(countries=["USA", "NGA"]).head(10)
    train, held = split_questions(survey, 0.3, seed=0)
    train_ids, held_ids = {q.id for q in train.questions}, {q.id for q in held.questions}
    assert len(held_ids) == 3 and len(train_ids) == 7 and not train_ids & held_ids
    assert train_ids | held_ids == {q.id for q in survey.questions}
    again, _ = split_questions(survey, 0.3, seed=0)
    assert [q.id for q in again.questions] == [q.id for q in train.questions]
    other, _ = split_questions(survey, 0.3, seed=1)
    assert {q.id for q in other.questions} != train_ids
    with pytest.raises(CultureAlignError, match="held out"):
        split_questions(survey.head(3), 0.5, seed=0)


def _spec(tmp_path, steps: int, questions: int) -> str:
    path = tmp_path / "d.yaml"
    path.write_text(
        "kind: wvs-study\nname: d\n"
        f"data: {{countries: [USA, NGA], limit: {questions}}}\n"
        "distill:\n"
        "  teacher: {id: smollm2-135m-instruct, threads: 1}\n"
        "  student: {id: smollm2-135m-instruct, label: student, threads: 1}\n"
        f"  holdout: 0.5\n  max_steps: {steps}\n  batch_size: 4\n"
    )
    return str(path)


@pytest.mark.integration
def test_distill_command_runs_every_stage_and_resumes(tmp_path):
    """6 questions x 2 countries, 2 SFT steps: the stages run, the student is scored before and
    after on the 3 held-out questions only, and a second call redoes nothing."""
    from tests.conftest import run_cli

    out = tmp_path / "run"
    result = run_cli("wvs", "distill", _spec(tmp_path, 2, 6), "--out", str(out))
    assert result.returncode == 0, result.stderr
    d = out / "distill"
    summary = json.loads((d / "distill.json").read_text())
    held, train = summary["split"]["heldout_questions"], summary["split"]["train_questions"]
    assert len(held) == 3 and len(train) == 3 and not set(held) & set(train)
    rows = [json.loads(line) for line in (d / "sft.jsonl").read_text().splitlines()]
    assert len(rows) == summary["sft_rows"] == 6  # 3 train questions x 2 countries
    teacher_qs = {json.loads(x)["question"] for x in (d / "teacher/items.jsonl").open()}
    assert teacher_qs == set(train)  # the teacher never answered a held-out question
    for stage in ("student_before", "student_after", "teacher_heldout"):
        qs = {json.loads(x)["question"] for x in (d / stage / "items.jsonl").open()}
        assert qs == set(held)
    assert (d / "adapter" / "adapter_config.json").is_file()
    assert set(summary["r"]) == {"teacher_heldout", "student_before", "student_after"}
    again = run_cli("wvs", "distill", _spec(tmp_path, 2, 6), "--out", str(out))
    assert again.returncode == 0 and "evaluating" not in again.stderr
    assert "training" not in again.stderr


@pytest.mark.slow
@pytest.mark.integration
def test_distill_at_small_scale(tmp_path):
    """The same with 40 questions and 30 steps (several minutes on CPU)."""
    from tests.conftest import run_cli

    result = run_cli("wvs", "distill", _spec(tmp_path, 30, 40), "--out", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "r" / "distill" / "distill.json").read_text())
    assert summary["sft_rows"] == 40 and summary["r"]["student_after"] is not None
