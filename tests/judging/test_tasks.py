"""mt-bench-ja and culturebank-grounded end to end on the embedded model (answerer = judge),
the Table 5 metrics, and the CultureBank question builder."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from culturealign.evaluation import build_task
from culturealign.evaluation.records import ItemRecord
from culturealign.evaluation.runner import resolve_generation, run_task
from culturealign.evaluation.tasks.judged import mt_bench_metrics

pytestmark = pytest.mark.needs_data


class _Counting:
    """Forwards to a real model and records which of its methods were called."""

    def __init__(self, model, calls):
        self._model, self._calls = model, calls

    def __getattr__(self, name):
        attr = getattr(self._model, name)
        if callable(attr):
            self._calls.append(name)
        return attr


@pytest.mark.slow  # ~8 min wall on the loaded shared 2-core machine
def test_mt_bench_ja_six_questions_end_to_end_and_resume(gemma, tmp_path):
    options = dict(limit=6, answer_max_new_tokens=4, judge_max_new_tokens=3, judge_cue="評価：[[")
    task = build_task("mt-bench-ja", options)
    summary = run_task(task, gemma, tmp_path)
    assert summary["n_items"] == 6
    table = summary["metrics"]["table5"]
    cats = {"extraction", "humanities", "reasoning", "roleplay", "stem", "writing"}
    assert set(table) == cats | {"average"}
    records = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    for r in records:
        assert r["judgement"].startswith("評価：[[") and r["judge_input"].endswith("評価：[[")
        assert r["score"] == -1.0 or 1 <= r["score"] <= 10 or r["score"] >= 0
        assert len(r["answers"]) == 2 and r["turns"][0] in r["prompt"]
        # reasoning is graded against its reference answer (FastChat's NEED_REF_CATS)
        expected = "single-math-v1" if r["category"] == "reasoning" else "single-v1"
        assert r["judge_prompt"] == expected
    assert (tmp_path / "table5.md").read_text().startswith("| model | judge |")
    assert (tmp_path / "radar.png").read_bytes()[:4] == b"\x89PNG"
    # A rerun of the finished run asks neither the answering model nor the judge again.
    calls: list[str] = []
    again = run_task(build_task("mt-bench-ja", options), _Counting(gemma, calls), tmp_path)
    assert not {"generate", "choice_logprobs"} & set(calls)
    assert again["metrics"] == summary["metrics"]


def test_mt_bench_metrics_leave_out_failed_ratings():
    def rec(i, cat, score):
        return ItemRecord(id=str(i), prompt="", choices=[], category=cat, score=score)

    records = [
        rec(0, "stem", 6.0),
        rec(1, "stem", 8.0),
        rec(2, "stem", -1.0),
        rec(3, "writing", -1.0),
    ]
    m = mt_bench_metrics(records)
    assert m["table5"]["stem"]["value"] == 7.0 and m["table5"]["stem"]["n"] == 2
    assert m["table5"]["writing"]["value"] is None  # no rating at all: no mean
    assert m["average"] == 7.0
    assert m["failure_rate"]["value"] == 0.5


@pytest.mark.slow  # ~3 min wall on the loaded shared 2-core machine
def test_culturebank_grounded_runs_with_p_yes(smollm, tmp_path):
    task = build_task("culturebank-grounded", {"limit": 2})
    generation = replace(resolve_generation(task), max_new_tokens=4)
    summary = run_task(task, smollm, tmp_path, generation=generation)
    m = summary["metrics"]
    assert 0.0 <= m["mean_score"]["value"] <= 1.0
    assert set(m["per_group"]) and set(m["per_topic"])
    assert summary["generation_departs_from_task"]["max_new_tokens"] == {"task": 512, "used": 4}
    for line in (tmp_path / "items.jsonl").read_text().splitlines():
        r = json.loads(line)
        assert r["entailed"] == (r["p_yes"] > 0.5) and r["knowledge"] in r["judge_input"]


def test_culturebank_question_builder_keeps_every_attempt_and_resumes(smollm, tmp_path):
    from culturealign.data.culturebank import load_culturebank
    from culturealign.judging.culturebank import (
        QUESTION_GENERATION_CONFIG,
        build_questions,
        parse_question,
    )

    rows = load_culturebank("reddit").rows[:2]
    out = tmp_path / "questions.jsonl"
    config = replace(QUESTION_GENERATION_CONFIG, max_new_tokens=6)
    counts = build_questions(smollm, rows, out, config, tries=1)
    assert counts["rows"] == 2 and counts["kept"] + counts["rejected"] == 2
    for line in out.read_text().splitlines():
        row = json.loads(line)
        assert len(row["outputs"]) == 1 and row["kept"] == (row["rejected_because"] is None)
    calls: list[str] = []
    assert build_questions(_Counting(smollm, calls), rows, out, config, tries=1) == counts
    assert "generate" not in calls
    parsed = parse_question(
        'Sure! {"Scenario": "Travel", "Persona": "A student", "Question": "Q?"}'
    )
    assert parsed == {"scenario": "Travel", "persona": "A student", "question": "Q?"}
    assert parse_question("no json here") is None


@pytest.mark.integration
def test_short_mt_bench_runs_compared_pairwise_by_report(gemma, tmp_path):
    """CI's short mt-bench-ja run (2 questions, tiny outputs; the 6-question run is -m slow),
    then `culturealign report A B`: the pairwise table, both orders asked, and a cached rerun."""
    from typer.testing import CliRunner

    from culturealign.cli import app
    from culturealign.reports.mt_bench import PAIRWISE_FILE, PAIRWISE_ITEMS

    options = dict(limit=2, answer_max_new_tokens=4, judge_max_new_tokens=3, judge_cue="評価：[[")
    run_a, run_b, out = tmp_path / "a", tmp_path / "b", tmp_path / "compare"
    summary = run_task(build_task("mt-bench-ja", options), gemma, run_a)
    assert summary["n_items"] == 2 and (run_a / "radar.png").is_file()
    shutil.copytree(run_a, run_b)  # B: the same run with its turn-1 answers replaced
    items = [json.loads(line) for line in (run_b / "items.jsonl").read_text().splitlines()]
    for r in items:
        r["answers"][0] = "わかりません。"
    (run_b / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))

    args = ["report", str(run_a), str(run_b), "--out", str(out), "--judge", "gemma-3-270m",
            "--judge-max-new-tokens", "4", "--threads", "2"]  # fmt: skip
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    table = (out / PAIRWISE_FILE).read_text(encoding="utf-8")
    assert "| run A | run B | questions | A wins | ties | B wins |" in table
    assert "## Single-answer grading (Table 5 layout)" in table
    pairs = json.loads((out / "pairwise_items.json").read_text(encoding="utf-8"))
    assert [p["id"] for p in pairs] == [r["id"] for r in items]
    for p in pairs:
        x_first, y_first = p["judge_inputs"]  # run A's answer shown first, then second
        assert x_first.index("わかりません。") > y_first.index("わかりません。")
        assert len(p["verdicts"]) == 2 and p["winner"] in ("x", "y", "tie")
    cached = (out / PAIRWISE_ITEMS).read_text(encoding="utf-8")
    assert len(cached.splitlines()) == 4  # 2 questions x 2 orders
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and (out / PAIRWISE_ITEMS).read_text(encoding="utf-8") == cached
    assert (out / PAIRWISE_FILE).read_text(encoding="utf-8") == table
