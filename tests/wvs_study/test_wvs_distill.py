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


def test_choice_answers_of_a_finished_comparison_run_are_reused(tmp_path):
    """Teacher / student-before answers come from the comparison run when it asked the same
    pairs of the same model with the same prompt; otherwise (other model, adapter, a pair
    missing) nothing is reused."""
    from culturealign.wvs_study.distill import reusable_records
    from culturealign.wvs_study.spec import StudyModel
    from culturealign.wvs_study.task import study_task

    survey = load_culturespa_wvs(countries=["USA", "NGA"]).head(4)
    part, _ = split_questions(survey, 0.75, seed=0)
    task = study_task(survey, {"USA"})
    run = tmp_path / "models" / "m"
    run.mkdir(parents=True)
    summary = {"model": {"name": "m-id", "adapter": None}, "task": {"name": task.name}}
    summary["task"]["args"] = json.loads(json.dumps(task.args))
    (run / "summary.json").write_text(json.dumps(summary))
    rows = [{"question": q.id, "country": c, "persona": "aware", "probs": [1.0]}
            for q, c in survey.pairs()]  # fmt: skip
    (run / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    sub_task = study_task(part, {"USA"})
    found = reusable_records(StudyModel(id="m-id"), sub_task, part, tmp_path / "models")
    assert found is not None and found[0] == run
    assert {(r["question"], r["country"]) for r in found[1]} == {(q.id, c) for q, c in part.pairs()}
    assert reusable_records(StudyModel(id="other"), sub_task, part, tmp_path / "models") is None
    (run / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[1:]))
    assert reusable_records(StudyModel(id="m-id"), task, survey, tmp_path / "models") is None
