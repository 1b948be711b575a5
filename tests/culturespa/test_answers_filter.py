"""Answer parser on the released answers, answer prompts, the inconsistency filter, SFT rows."""

from __future__ import annotations

import json

from culturealign.alignment.recipes.sft_lora import read_sft_rows
from culturealign.culturespa.answer import UNAWARE, answer_prompt, parse_answer, read_answers
from culturealign.culturespa.filter import inconsistent, write_sft_sets
from culturealign.data.wvs import PAPER_COUNTRIES, load_culturespa_wvs
from culturealign.evaluation.tasks.survey import wvs_culturespa
from culturealign.evaluation.wvs_metrics import parse_first_integer
from tests.culturespa.conftest import released_answers


def test_answer_parser_on_the_released_answers():
    for setting in ["culture_unaware", *[f"culture_aware_{c}" for c in PAPER_COUNTRIES]]:
        for row in released_answers(setting):
            got = parse_answer(row["answer"])
            # Same first integer as the evaluation's parser, but 11-15 kept at this step.
            assert got == parse_first_integer(row["answer"], 0, 15)
            if got is not None and got <= 10:
                assert got == parse_first_integer(row["answer"])
    assert parse_answer("13. Other") == 13
    assert parse_answer("16") is None
    assert parse_answer("I would choose option 0") == 0
    assert parse_answer("no number") is None


def test_answer_prompt_is_the_evaluation_prompt():
    # A WVS question through the answer step = the wvs-culturespa task's prompt (no chat wrap).
    survey = load_culturespa_wvs(countries=["DEU"]).head(3)
    q = survey.questions[0]
    row = {"id": q.id, "question": q.text, "options": list(q.options)}

    class Plain:  # the task with chat=False renders no template
        is_chat = False

    task = wvs_culturespa(persona="both", countries="DEU", limit=3, chat=False)
    prompts = {s.id: s.request.prefix + s.request.text for s in task.samples(Plain())}
    assert answer_prompt(None, row, "DEU") == prompts[f"aware/DEU/{q.id}"].rstrip(" ")
    assert answer_prompt(None, row, UNAWARE) == prompts[f"unaware/-/{q.id}"].rstrip(" ")
    assert "German cultural background" in answer_prompt(None, row, "DEU")


def _row(seed, country, qid, answer):
    return {"seed": seed, "country": country, "question": qid, "prompt": f"P {country} {qid}",
            "output": str(answer), "answer": answer}  # fmt: skip


def test_filter_keeps_aware_answers_that_differ_from_the_unaware_one(tmp_path):
    rows = [
        _row(42, UNAWARE, "q1", 1), _row(42, "USA", "q1", 1), _row(42, "CHN", "q1", 3),
        _row(42, UNAWARE, "q2", None), _row(42, "USA", "q2", 2), _row(42, "CHN", "q2", 2),
        _row(42, UNAWARE, "q3", 4), _row(42, "USA", "q3", None), _row(42, "CHN", "q3", 5),
        _row(41, UNAWARE, "q1", 3), _row(41, "USA", "q1", 2), _row(41, "CHN", "q1", 3),
    ]  # fmt: skip
    answers = {(r["seed"], r["country"], r["question"]): r for r in rows}
    kept = {(r["seed"], r["country"], r["question"]) for r in inconsistent(answers)}
    # Same as unaware: out; unaware or aware unparsed: out; compared within the same seed.
    assert kept == {(42, "CHN", "q1"), (42, "CHN", "q3"), (41, "USA", "q1")}
    stats = write_sft_sets(answers, ["USA", "CHN"], tmp_path)
    assert stats["per_country"] == {
        "USA": {"answered": 4, "kept": 1},
        "CHN": {"answered": 4, "kept": 2},
    }
    joint = read_sft_rows(tmp_path / "joint.jsonl")  # the SFT recipe's own reader accepts it
    assert len(joint) == 3
    assert {"prompt": "P CHN q3", "completion": "5"} in joint
    assert [
        json.loads(x)["country"] for x in (tmp_path / "USA.jsonl").read_text().splitlines()
    ] == ["USA"]


def test_read_answers_ignores_a_torn_last_line(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps(_row(42, "USA", "q1", 1)) + "\n" + '{"seed": 42, "coun')
    assert list(read_answers(path)) == [(42, "USA", "q1")]
